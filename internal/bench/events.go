package bench

import (
	"math/rand/v2"
	"strconv"
	"time"
)

// MatchEvent is the track event the default benchmark action wants; the
// generator makes exactly this event for the matching share of records and
// never for the others.
const MatchEvent = "Order Completed"

// generator writes realistic CDP events: a mix of identify, track, page,
// screen, group and alias events from a pool of users, each padded to about
// size bytes with a longer user agent, as real browser events have. A share
// match of them are "Order Completed" track events; the others never are.
//
// It appends with strconv rather than encoding maps, so that producing a
// million events costs well under a second of CPU. It is not safe for
// concurrent use.
type generator struct {
	rng   *rand.Rand
	size  int
	match float64
	seq   uint64
	buf   []byte
}

func newGenerator(seed uint64, size int, match float64) *generator {
	return &generator{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), size: size, match: match}
}

// users is the size of the user pool: enough keys to spread over any
// partition count, few enough that users repeat as in real traffic.
const users = 50_000

var (
	trackNames = []string{"Product Viewed", "Product Added", "Signed Up", "Button Clicked", "Checkout Started", "Subscription Started"}
	pageNames  = []string{"Home", "Pricing", "Docs", "Blog", "Checkout", "Careers"}
	plans      = []string{"free", "pro", "team", "enterprise"}
	currencies = []string{"EUR", "USD", "GBP"}
	products   = []string{"sku-1001", "sku-1002", "sku-2040", "sku-3300", "sku-7777"}
)

// random returns the key and value of the next event, sent at sent, which
// the default action wants with probability match.
func (g *generator) random(sent time.Time) (key, value []byte, matched bool) {
	matched = g.rng.Float64() < g.match
	key, value = g.event(sent, matched)
	return key, value, matched
}

// exactly returns a picker that makes exactly want of the next n events
// ones the default action wants, spread evenly at random over them.
func (g *generator) exactly(want, n int) func() bool {
	left := n
	return func() bool {
		yes := g.rng.IntN(left) < want
		left--
		if yes {
			want--
		}
		return yes
	}
}

// event returns the key and value of the next event, sent at sent (its
// sentAt and timestamp fields), an "Order Completed" track event if
// matched. The value is a fresh slice the caller owns.
func (g *generator) event(sent time.Time, matched bool) (key, value []byte) {
	g.seq++
	u := g.rng.IntN(users)
	b := g.buf[:0]
	kind := g.rng.IntN(100)

	b = append(b, `{"type":"`...)
	switch {
	case matched:
		b = append(b, `track","event":"`...)
		b = append(b, MatchEvent...)
		b = append(b, '"')
	case kind < 30:
		b = append(b, `identify"`...)
	case kind < 60:
		b = append(b, `track","event":"`...)
		b = append(b, trackNames[g.rng.IntN(len(trackNames))]...)
		b = append(b, '"')
	case kind < 90:
		b = append(b, `page","name":"`...)
		b = append(b, pageNames[g.rng.IntN(len(pageNames))]...)
		b = append(b, '"')
	case kind < 95:
		b = append(b, `screen","name":"`...)
		b = append(b, pageNames[g.rng.IntN(len(pageNames))]...)
		b = append(b, '"')
	case kind < 98:
		b = append(b, `group","groupId":"company-`...)
		b = strconv.AppendInt(b, int64(u%997), 10)
		b = append(b, '"')
	default:
		b = append(b, `alias","previousId":"anon-`...)
		b = strconv.AppendUint(b, uint64(u)*2654435761%(1<<32), 16)
		b = append(b, '"')
	}
	keyStart := len(b) + len(`,"userId":"`)
	b = append(b, `,"userId":"user-`...)
	b = appendPadded(b, u, 6)
	keyEnd := len(b)
	b = append(b, `","anonymousId":"anon-`...)
	b = strconv.AppendUint(b, uint64(u)*2654435761%(1<<32), 16)
	b = append(b, `","messageId":"bench-`...)
	b = strconv.AppendUint(b, g.seq, 10)
	b = append(b, '-')
	b = strconv.AppendUint(b, g.rng.Uint64()>>16, 36)
	b = append(b, `","timestamp":"`...)
	b = sent.UTC().AppendFormat(b, timestampLayout)
	b = append(b, `","sentAt":"`...)
	b = sent.UTC().AppendFormat(b, sentAtLayout)
	b = append(b, '"')

	switch {
	case matched:
		b = append(b, `,"properties":{"orderId":"o-`...)
		b = strconv.AppendUint(b, g.seq, 10)
		b = append(b, `","revenue":`...)
		b = strconv.AppendFloat(b, float64(g.rng.IntN(50000))/100, 'f', -1, 64)
		b = append(b, `,"currency":"`...)
		b = append(b, currencies[u%len(currencies)]...)
		b = append(b, `","products":`...)
		b = strconv.AppendInt(b, int64(1+g.rng.IntN(5)), 10)
		b = append(b, '}')
	case kind < 30:
		b = append(b, `,"traits":{"email":"user`...)
		b = appendPadded(b, u, 6)
		b = append(b, `@example.com","plan":"`...)
		b = append(b, plans[u%len(plans)]...)
		b = append(b, `","company":"Company `...)
		b = strconv.AppendInt(b, int64(u%997), 10)
		b = append(b, `"}`...)
	case kind < 60:
		b = append(b, `,"properties":{"product_id":"`...)
		b = append(b, products[g.rng.IntN(len(products))]...)
		b = append(b, `","price":`...)
		b = strconv.AppendFloat(b, float64(g.rng.IntN(20000))/100, 'f', -1, 64)
		b = append(b, '}')
	case kind < 95:
		b = append(b, `,"properties":{"path":"/`...)
		b = strconv.AppendInt(b, int64(g.rng.IntN(100)), 10)
		b = append(b, `","referrer":"https://www.example.org/"}`...)
	}

	b = append(b, `,"context":{"ip":"203.0.113.`...)
	b = strconv.AppendInt(b, int64(1+u%250), 10)
	b = append(b, `","library":{"name":"analytics.js","version":"2.11.1"},"userAgent":"Mozilla/5.0`...)
	// Pad the user agent so the whole event is about size bytes.
	for pad := g.size - len(b) - len(`"}}`); pad > 0; {
		n := min(pad, len(uaPad))
		b = append(b, uaPad[:n]...)
		pad -= n
	}
	b = append(b, `"}}`...)

	g.buf = b
	value = make([]byte, len(b))
	copy(value, b)
	return value[keyStart:keyEnd:keyEnd], value
}

// uaPad fills user agents: printable text with no JSON escapes.
const uaPad = " (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"

// Layouts of the time fields: sentAt to the microsecond, since the latency
// phase reads it back; timestamp to the millisecond, as SDKs write it.
const (
	timestampLayout = "2006-01-02T15:04:05.000Z07:00"
	sentAtLayout    = "2006-01-02T15:04:05.000000Z07:00"
)

// appendPadded appends n in decimal with leading zeros to width digits.
func appendPadded(b []byte, n, width int) []byte {
	var d [20]byte
	s := strconv.AppendInt(d[:0], int64(n), 10)
	for range width - len(s) {
		b = append(b, '0')
	}
	return append(b, s...)
}
