package sink

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookstream/hookstream/rules"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// arrival is one event on its way into an action's goroutine.
type arrival struct {
	a   *rules.Compiled
	url string
	it  item
}

// runner is one action's pipeline. Its goroutine (run) owns the batchers,
// the queue of formed batches and the count of requests in flight; it starts
// one goroutine per request, at most max_in_flight at a time, and learns of
// their end through completed. Only that goroutine touches these fields,
// which is why none of them is locked.
//
// Memory is bounded per action: once held (events gathered, queued or in
// flight) reaches Config.MaxBuffered, run stops reading in, in fills up,
// and Send blocks — back-pressure that reaches the caller whatever the
// endpoint does. An action whose endpoint is failing parks instead of
// blocking (park.go); its parked events come back through a second runner,
// its retry lane, which shares its breaker.
type runner struct {
	s         *Sink
	id        string
	in        chan arrival
	flush     chan struct{} // a Flush asks for partial batches now
	completed chan finished // a request ended
	attrs     actionAttrs
	br        *atomic.Pointer[breaker]  // the current version's, for BreakerStates; shared with the retry lane
	ep        *atomic.Pointer[endpoint] // the current version's client and credentials; shared with the retry lane
	ages      *ages                     // events not yet done, for OldestPending
	waiting   *ages                     // a source runner's events not yet done, by arrival (behind.go); nil for a retry lane

	cur        *policy
	batchers   map[string]*batcher
	deadlines  []deadline // batchers in order of first arrival
	queue      []*batch   // formed, waiting for a request slot, in order
	inFlight   int
	held       int
	timer      *time.Timer
	timerAt    time.Time
	goroutines sync.WaitGroup // every goroutine the runner started: requests, acks, the retry watcher

	pk   *parking               // a source runner's parking state; nil without Config.Group, and for a retry lane
	src  *runner                // a retry lane's source runner
	lane atomic.Pointer[runner] // a source runner's retry lane, made for the first parked event read back

	lim  atomic.Pointer[limiter] // the current version's rate_limit; nil for none (ratelimit.go)
	from *partitionCount         // a retry lane's events by source partition, for its limiter

	users     atomic.Int32 // Sends between taking the runner and handing it their event (idle.go)
	idleSince time.Time    // since when it has held nothing; zero while it holds something
}

// finished is the end of one request: n events delivered or dead-lettered,
// and the ones handed back unsent because the action parked.
type finished struct {
	n      int
	unsent []item
}

type deadline struct {
	b   *batcher
	seq uint64
}

func newRunner(s *Sink, id string) *runner {
	r := &runner{
		s:         s,
		id:        id,
		in:        make(chan arrival, inQueue),
		flush:     make(chan struct{}, 1),
		completed: make(chan finished),
		attrs:     newActionAttrs(id),
		br:        new(atomic.Pointer[breaker]),
		ep:        new(atomic.Pointer[endpoint]),
		ages:      newAges(),
		waiting:   newAges(),
		batchers:  map[string]*batcher{},
	}
	if s.cfg.Group != "" {
		r.pk = newParking(s.ctx)
	}
	return r
}

// inQueue is the hand-off buffer between Send and an action's goroutine.
// It only smooths bursts; the real bound is Config.MaxBuffered.
const inQueue = 256

func (r *runner) run(ctx context.Context) {
	r.timer = time.NewTimer(time.Hour)
	r.timer.Stop()
	defer func() {
		r.timer.Stop()
		r.goroutines.Wait() // requests observe ctx and return
	}()
	for {
		in := r.in
		if r.full() {
			in = nil
		}
		select {
		case a := <-in:
			r.add(a)
			r.takeWaiting()
		case f := <-r.completed:
			r.inFlight--
			r.held -= f.n
			r.parkUnsent(f.unsent)
		case <-r.pk.wakeC():
		case <-r.pk.timerC():
			r.pk.timerAt = time.Time{}
		case <-r.timer.C:
			r.timerAt = time.Time{}
			now := time.Now()
			r.flushDue(now)
			if r.retireDue(now) {
				return
			}
		case <-r.flush:
			// Take what was handed over before the Flush, whatever the
			// bound, then send every partial batch.
			for range len(r.in) {
				r.add(<-r.in)
			}
			r.flushAll()
			if l := r.lane.Load(); l != nil {
				select {
				case l.flush <- struct{}{}:
				default:
				}
			}
		case <-ctx.Done():
			return
		}
		r.parkStep(ctx)
		r.dispatch(ctx)
		r.armTimer()
		r.armIdle(time.Now)
	}
}

// takeWaiting takes the events already waiting, up to a bound, without going
// back through the full select for each: under load that select is the
// larger part of this goroutine's cost per event.
func (r *runner) takeWaiting() {
	for range 256 {
		if r.full() {
			return
		}
		select {
		case a := <-r.in:
			r.add(a)
		default:
			return
		}
	}
}

// add routes one event to its batcher, or straight to the queue when the
// action is not batched.
func (r *runner) add(a arrival) {
	r.held++
	if r.cur == nil || r.cur.a != a.a {
		// A new version of the action: what was gathered goes out as it
		// was, then the new version takes over.
		r.flushAll()
		r.cur = policyOf(a.a)
		if br := r.br.Load(); br == nil || !sameBreaker(br.p, r.cur) {
			r.br.CompareAndSwap(br, newBreaker(r.id, r.cur, r.s.log)) // the other lane may have just made one
		}
		r.setLimit(r.cur)
		r.setEndpoint(a.a)
	}
	r.from.add(a.it.rec)
	if r.parkTake(a.it) {
		return
	}
	p := r.cur
	if !p.batched {
		r.enqueue(newBatch(p, a.url, []item{a.it}))
		return
	}
	b := r.batchers[a.url]
	if b == nil {
		b = newBatcher(p, a.url)
		r.batchers[a.url] = b
	}
	if !b.Fits(len(a.it.body)) {
		r.enqueue(b.Flush())
	}
	now := time.Now()
	if b.Len() == 0 {
		r.deadlines = append(r.deadlines, deadline{b: b, seq: b.seq})
	}
	if b.Add(a.it, now) {
		r.enqueue(b.Flush())
		delete(r.batchers, a.url)
	}
}

func (r *runner) enqueue(b *batch) {
	if b == nil {
		return
	}
	b.br = r.br.Load()
	r.queue = append(r.queue, b)
}

// flushDue flushes the batchers whose first event has waited long enough.
func (r *runner) flushDue(now time.Time) {
	for len(r.deadlines) > 0 {
		d := r.deadlines[0]
		if d.seq == d.b.seq && d.b.Len() > 0 && d.b.UntilNext(now) > 0 {
			return
		}
		r.popDeadline()
		if d.seq == d.b.seq {
			r.enqueue(d.b.Flush())
			if r.batchers[d.b.url] == d.b {
				delete(r.batchers, d.b.url) // per-user URLs must not pile up
			}
		}
	}
}

// flushAll flushes every batcher, oldest first.
func (r *runner) flushAll() {
	for len(r.deadlines) > 0 {
		d := r.deadlines[0]
		r.popDeadline()
		if d.seq == d.b.seq {
			r.enqueue(d.b.Flush())
		}
	}
	clear(r.batchers)
}

func (r *runner) popDeadline() {
	r.deadlines[0] = deadline{}
	r.deadlines = r.deadlines[1:]
	if len(r.deadlines) == 0 {
		r.deadlines = r.deadlines[:0:0] // let the backing array go
	}
}

// armTimer points the timer at the oldest live batcher's deadline.
func (r *runner) armTimer() {
	for len(r.deadlines) > 0 {
		d := r.deadlines[0]
		if d.seq != d.b.seq || d.b.Len() == 0 {
			r.popDeadline()
			continue
		}
		at := d.b.first.Add(d.b.p.wait)
		if !at.Equal(r.timerAt) {
			r.timer.Reset(time.Until(at))
			r.timerAt = at
		}
		return
	}
}

// dispatch starts requests for queued batches while slots are free. The
// limit is the head batch's max_in_flight; a version with a lower limit
// waits for the older requests to drain, so max_in_flight 1 keeps order
// across a reload as well. A parked or draining action starts none.
func (r *runner) dispatch(ctx context.Context) {
	if r.holds() {
		return
	}
	wait := r.waitContext(ctx)
	for len(r.queue) > 0 && r.inFlight < r.queue[0].p.inFlight {
		b := r.queue[0]
		r.queue[0] = nil
		r.queue = r.queue[1:]
		if len(r.queue) == 0 {
			r.queue = r.queue[:0:0]
		}
		if b = r.withdraw(b); b == nil {
			continue
		}
		r.inFlight++
		r.goroutines.Go(func() {
			unsent := r.deliver(ctx, wait, b)
			r.from.done(b.items...)
			select {
			case r.completed <- finished{n: len(b.items) - len(unsent), unsent: unsent}:
			case <-ctx.Done():
			}
		})
	}
}

// withdraw drops the events of b that their caller withdrew (their Ack
// reports Withdrawn: their partition was revoked, and its next owner
// delivers them), and returns b, a batch of the rest, or nil if none is
// left. Events already in a request
// are never withdrawn: a retry carries the same ones under the same key.
func (r *runner) withdraw(b *batch) *batch {
	n := 0
	for _, it := range b.items {
		if !it.withdrawn() {
			n++
		}
	}
	if n == len(b.items) {
		return b
	}
	keep := make([]item, 0, n)
	for _, it := range b.items {
		if !it.withdrawn() {
			keep = append(keep, it)
			continue
		}
		r.held--
		r.from.done(it)
		r.s.abandon(it)
	}
	if n == 0 {
		return nil
	}
	nb := newBatch(b.p, b.url, keep)
	nb.br = b.br
	return nb
}

// actionAttrs are an action's metric attribute sets, built once.
type actionAttrs struct {
	action metric.MeasurementOption
	codes  map[string]metric.MeasurementOption
	tokens [2]metric.AddOption // auth token fetches: error, ok
	// record is action as a ready-made variadic list: passing one option
	// to Record allocates its slice on every call, which the per-event
	// latency record would do a thousand times a batch.
	record []metric.RecordOption
}

func newActionAttrs(id string) actionAttrs {
	at := actionAttrs{
		action: metric.WithAttributeSet(attribute.NewSet(attribute.String("action", id))),
		codes:  map[string]metric.MeasurementOption{},
	}
	at.record = []metric.RecordOption{at.action}
	for i, result := range []string{"error", "ok"} {
		at.tokens[i] = metric.WithAttributeSet(attribute.NewSet(attribute.String("action", id), attribute.String("result", result)))
	}
	for _, c := range []string{"2xx", "4xx", "5xx", "error"} {
		at.codes[c] = metric.WithAttributeSet(attribute.NewSet(attribute.String("action", id), attribute.String("code", c)))
	}
	return at
}

func (at actionAttrs) token(ok bool) metric.AddOption {
	if ok {
		return at.tokens[1]
	}
	return at.tokens[0]
}

func (at actionAttrs) code(status int) metric.MeasurementOption { return at.codes[codeLabel(status)] }
