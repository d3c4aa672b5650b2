package sink

import (
	"time"

	"github.com/hookstream/hookstream/processor"
	"github.com/twmb/franz-go/pkg/kgo"
)

// item is one event handed to Send: its body bytes (kept alive by the caller
// until done), its source record, the caller's acknowledgement, the Flush
// generation that counts it and the action's pending ages that count it
// (nil for dead letters handed over directly).
type item struct {
	body []byte
	rec  *kgo.Record
	ack  processor.Ack // nil: nobody to tell
	gen  *gen
	ages *ages
	sec  int64 // the key ages counts it under
	// waiting counts the source lane's events by the second they were
	// handed to Send, for the behind rule (behind.go); nil for a retry
	// lane's. arrived is the key.
	waiting *ages
	arrived int64
}

// withdrawn reports whether the caller took the event back (see
// processor.Ack): it is dropped unless already in a request.
func (it item) withdrawn() bool { return it.ack != nil && it.ack.Withdrawn() }

// source is the event's source record; an event handed over without one is
// its body at partition and offset -1.
func (it item) source() *kgo.Record {
	if it.rec == nil {
		return &kgo.Record{Value: it.body, Partition: -1, Offset: -1}
	}
	return it.rec
}

// batch is one request's worth of events: one action version, one URL.
// Its body and Idempotency-Key are fixed when it is formed, so every retry
// sends the same bytes under the same key.
type batch struct {
	p        *policy
	br       *breaker
	url      string
	items    []item
	body     body // read from items' bytes on each attempt (body.go)
	key      string
	sig      string // X-Signature, computed when the batch is formed
	attempts int    // requests made for these events, carried into halves
}

// newBatch forms a batch, its key and signature. Signing here, on the
// action's goroutine while the previous request is still in flight, keeps
// the HMAC of a 400 KB body (a quarter of a millisecond) off the path from
// one request's answer to the next request, which with max_in_flight 1 is
// what bounds an action's throughput. The body itself is never built: each
// attempt reads it from the events' bytes (body.go).
func newBatch(p *policy, url string, items []item) *batch {
	b := &batch{p: p, url: url, items: items, body: bodyOf(p.batched, items)}
	b.key = idempotencyKey(p.a.ID, items, p.batched)
	if p.signature {
		b.sig = sign(p.a.Secrets[0], b.body)
	}
	return b
}

// split cuts b into two halves, each with its own body and key, for a 413
// answer. b must hold at least two events.
func split(b *batch) (*batch, *batch) {
	mid := len(b.items) / 2
	first := newBatch(b.p, b.url, b.items[:mid:mid])
	second := newBatch(b.p, b.url, b.items[mid:])
	first.br, second.br = b.br, b.br
	first.attempts, second.attempts = b.attempts, b.attempts
	return first, second
}

// batcher gathers the events of one action version for one URL. It is owned
// by the action's goroutine and is not safe for concurrent use.
//
// A batch is flushed when it holds size events (Add reports full), when its
// first event has waited wait (UntilNext), or before an event that would
// take its body over max_bytes (Fits). An event larger than max_bytes on
// its own is still sent, alone: dropping it silently would lose data, and
// the endpoint's 413 then dead-letters it with reason rejected.
type batcher struct {
	p     *policy
	url   string
	items []item
	bytes int       // body length if flushed now
	first time.Time // arrival of the first event
	seq   uint64    // incremented by each Flush
}

func newBatcher(p *policy, url string) *batcher {
	return &batcher{p: p, url: url, bytes: 2}
}

// Len returns the number of events gathered.
func (b *batcher) Len() int { return len(b.items) }

// Fits reports whether an event of n bytes can join without taking the body
// over max_bytes. An empty batcher takes anything.
func (b *batcher) Fits(n int) bool {
	return len(b.items) == 0 || b.p.maxBytes == 0 || b.bytes+1+n <= b.p.maxBytes
}

// Add appends an event that arrived at now and reports whether the batch is
// full and must be flushed.
func (b *batcher) Add(it item, now time.Time) bool {
	if len(b.items) == 0 {
		b.first = now
		b.items = make([]item, 0, min(b.p.size, 64))
	} else {
		b.bytes++ // the comma
	}
	b.items = append(b.items, it)
	b.bytes += len(it.body)
	return len(b.items) >= b.p.size || (b.p.maxBytes > 0 && b.bytes >= b.p.maxBytes)
}

// UntilNext returns how long until the gathered events have waited long
// enough to be flushed; zero or less means now. It is meaningless when the
// batcher is empty.
func (b *batcher) UntilNext(now time.Time) time.Duration {
	return b.first.Add(b.p.wait).Sub(now)
}

// Flush returns the gathered events as one batch and empties the batcher;
// nil if it is empty.
func (b *batcher) Flush() *batch {
	if len(b.items) == 0 {
		return nil
	}
	out := newBatch(b.p, b.url, b.items)
	b.items, b.bytes = nil, 2
	b.seq++
	return out
}
