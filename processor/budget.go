package processor

import (
	"context"
	"sync/atomic"
)

// budget sums what the ledgers hold across every partition — the records
// handed off and not yet done, the bytes of their values, and among them the
// records not yet processed (decoded and matched) — and lets the poll loop
// wait until the policy (flow.go) lets it poll again.
//
// The poll loop never polls for more records than there is room for, so the
// record count never exceeds its bound. When the room is too small to be
// worth a poll, the poll loop stops polling and waits for acks to free some:
// that is how fetching pauses for the whole member. Not polling is enough —
// kgo keeps at most one fetch response per broker buffered and sends no new
// fetch until it is polled — and it is cheaper than PauseFetchTopics, which
// would throw the buffered response away only to fetch it again after
// resuming.
type budget struct {
	bounds bounds
	least  int   // the smallest room in records worth polling for
	fetch  int64 // the bytes one poll may bring
	n      atomic.Int64
	bytes  atomic.Int64
	peak   atomic.Int64 // the most bytes ever in hand

	waiting atomic.Bool

	unprocessed atomic.Int64
	ahead       atomic.Int64 // unprocessed records the waiter waits to go down to
	waitingWork atomic.Bool

	wake chan struct{}
}

func newBudget(b bounds, least int, fetch int64) *budget {
	return &budget{bounds: b, least: least, fetch: fetch, wake: make(chan struct{}, 1)}
}

// add counts n records of the given value bytes handed off, not yet
// processed.
func (b *budget) add(n int, bytes int64) {
	b.n.Add(int64(n))
	v := b.bytes.Add(bytes)
	for p := b.peak.Load(); v > p && !b.peak.CompareAndSwap(p, v); p = b.peak.Load() {
	}
	b.unprocessed.Add(int64(n))
}

// processed counts n records processed (or dropped unprocessed with a
// revoked partition), and wakes the waiter once few enough are left.
func (b *budget) processed(n int) {
	if n == 0 {
		return
	}
	v := b.unprocessed.Add(-int64(n))
	if b.waitingWork.Load() && aheadOK(int(v), int(b.ahead.Load())) {
		b.signal()
	}
}

// waitProcessed blocks until at most ahead records are not yet processed,
// and reports false if ctx ended first. Only the poll loop waits.
func (b *budget) waitProcessed(ctx context.Context, ahead int) bool {
	b.ahead.Store(int64(ahead))
	b.waitingWork.Store(true) // before reading the count: a processed after this sees it
	defer b.waitingWork.Store(false)
	for !aheadOK(int(b.unprocessed.Load()), ahead) {
		select {
		case <-b.wake:
		case <-ctx.Done():
			return false
		}
	}
	return true
}

// release counts n records of the given value bytes done (or dropped with a
// revoked partition), and wakes the waiter once it may poll.
func (b *budget) release(n int, bytes int64) {
	if n == 0 {
		return
	}
	b.bytes.Add(-bytes)
	b.n.Add(-int64(n))
	if b.waiting.Load() && b.mayPoll() {
		b.signal()
	}
}

func (b *budget) signal() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// usage returns what is handed off and not yet done.
func (b *budget) usage() usage {
	return usage{events: int(b.n.Load()), bytes: b.bytes.Load()}
}

// used returns the records handed off and not yet done.
func (b *budget) used() int { return int(b.n.Load()) }

func (b *budget) mayPoll() bool { return mayPoll(b.usage(), b.bounds, b.least, b.fetch) }

// wait blocks until the policy lets the poll loop poll, and reports false
// if ctx ended first. Only one goroutine (the poll loop) waits.
func (b *budget) wait(ctx context.Context) bool {
	b.waiting.Store(true) // before reading the counts: a release after this sees it
	defer b.waiting.Store(false)
	for !b.mayPoll() {
		select {
		case <-b.wake:
		case <-ctx.Done():
			return false
		}
	}
	return true
}
