package devkit

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Events produces sample CDP events to Topic at Rate per second: identify,
// track and page events (and a few group and alias events) from a pool of
// users, keyed by user id like a real source.
type Events struct {
	Brokers []string
	Topic   string
	Rate    float64
	Log     *slog.Logger
}

// Run produces until ctx ends.
func (e Events) Run(ctx context.Context) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.Brokers...), kgo.ProducerLinger(10*time.Millisecond))
	if err != nil {
		return fmt.Errorf("event producer: %w", err)
	}
	defer cl.Close()
	g := &generator{client: cl, topic: e.Topic, rate: e.Rate, log: e.Log, rng: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}
	g.run(ctx)
	return nil
}

// generator makes and produces the events.
type generator struct {
	client *kgo.Client
	topic  string
	rate   float64
	log    *slog.Logger
	rng    *rand.Rand
}

func (g *generator) run(ctx context.Context) {
	tick := time.NewTicker(time.Duration(float64(time.Second) / g.rate))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			key, value := g.event(now)
			g.client.Produce(ctx, &kgo.Record{Topic: g.topic, Key: key, Value: value}, func(_ *kgo.Record, err error) {
				if err != nil && ctx.Err() == nil {
					g.log.Warn("produce sample event", "topic", g.topic, "err", err)
				}
			})
		}
	}
}

// event returns one random event and its key (the user id, or the anonymous
// id for an anonymous visitor).
func (g *generator) event(now time.Time) (key, value []byte) {
	names := []string{"Ada Lovelace", "Grace Hopper", "Alan Turing", "Edsger Dijkstra", "Barbara Liskov", "Ken Thompson", "Margaret Hamilton", "Donald Knuth"}
	plans := []string{"free", "pro", "enterprise"}
	tracks := []string{"Product Viewed", "Product Added", "Order Completed", "Signed Up", "Subscription Started", "Button Clicked"}
	pages := []string{"Home", "Pricing", "Docs", "Blog", "Checkout"}
	products := []string{"sku-1001", "sku-1002", "sku-2040", "sku-3300", "sku-7777"}

	u := g.rng.IntN(len(names) * 25)
	userID := fmt.Sprintf("user-%04d", u)
	name := names[u%len(names)]
	ev := map[string]any{
		"messageId":   fmt.Sprintf("msg-%016x", g.rng.Uint64()),
		"anonymousId": fmt.Sprintf("anon-%08x", uint32(u*2654435761)),
		"userId":      userID,
		"timestamp":   now.UTC().Format(time.RFC3339Nano),
		"context": map[string]any{
			"ip":        fmt.Sprintf("203.0.113.%d", u%250+1),
			"library":   map[string]any{"name": "analytics.js", "version": "2.11.1"},
			"userAgent": "Mozilla/5.0 (X11; Linux x86_64)",
		},
	}
	switch p := g.rng.IntN(100); {
	case p < 20:
		ev["type"] = "identify"
		traits := map[string]any{"name": name, "plan": plans[u%len(plans)], "company": fmt.Sprintf("Company %d", u%17)}
		if u%5 != 0 { // some users have not given an email yet
			traits["email"] = fmt.Sprintf("user%04d@example.com", u)
		}
		ev["traits"] = traits
	case p < 65:
		ev["type"] = "track"
		event := tracks[g.rng.IntN(len(tracks))]
		ev["event"] = event
		props := map[string]any{"product_id": products[g.rng.IntN(len(products))]}
		if event == "Order Completed" {
			props["revenue"] = float64(g.rng.IntN(20000)) / 100
			props["currency"] = "EUR"
		}
		ev["properties"] = props
	case p < 95:
		ev["type"] = "page"
		page := pages[g.rng.IntN(len(pages))]
		ev["name"] = page
		ev["properties"] = map[string]any{"path": "/" + page, "title": page + " - Example", "referrer": "https://www.example.org/"}
		if g.rng.IntN(4) == 0 { // an anonymous visitor
			delete(ev, "userId")
		}
	case p < 98:
		ev["type"] = "group"
		ev["groupId"] = fmt.Sprintf("company-%d", u%17)
		ev["traits"] = map[string]any{"name": fmt.Sprintf("Company %d", u%17), "employees": 10 + u%90}
	default:
		ev["type"] = "alias"
		ev["previousId"] = ev["anonymousId"]
	}
	value, _ = json.Marshal(ev) // plain maps of strings and numbers always encode
	if id, ok := ev["userId"].(string); ok {
		return []byte(id), value
	}
	return []byte(ev["anonymousId"].(string)), value
}
