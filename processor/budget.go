package processor

import (
	"context"
	"sync/atomic"
)

// budget counts the records handed off and not yet done across every
// partition, against max_buffered_events, and among them the records not
// yet processed (decoded and matched).
//
// The poll loop never polls for more records than there is room for, so the
// count never exceeds max. When the room is too small to be worth a poll, the
// poll loop stops polling and waits for acks to free some: that is how
// fetching pauses for the whole member. Not polling is enough — kgo keeps at
// most one fetch response per broker buffered and sends no new fetch until it
// is polled — and it is cheaper than PauseFetchTopics, which would throw the
// buffered response away only to fetch it again after resuming.
//
// The budget is a bound, not a target: when the workers are the slower
// part (decoding and matching take CPU), fetching ahead of them only fills
// memory. So the poll loop also waits while more than one poll's worth of
// records are not yet processed: the workers always have that much in hand,
// and memory holds what the sink is delivering plus a little, not the whole
// budget.
type budget struct {
	max     int64
	n       atomic.Int64
	want    atomic.Int64 // room the waiter needs
	waiting atomic.Bool

	unprocessed atomic.Int64
	ahead       atomic.Int64 // unprocessed records the waiter waits to go down to
	waitingWork atomic.Bool

	wake chan struct{}
}

func newBudget(max int) *budget {
	return &budget{max: int64(max), wake: make(chan struct{}, 1)}
}

// add counts n records handed off, not yet processed.
func (b *budget) add(n int) {
	b.n.Add(int64(n))
	b.unprocessed.Add(int64(n))
}

// processed counts n records processed (or dropped unprocessed with a
// revoked partition), and wakes the waiter once few enough are left.
func (b *budget) processed(n int) {
	if n == 0 {
		return
	}
	v := b.unprocessed.Add(-int64(n))
	if b.waitingWork.Load() && v <= b.ahead.Load() {
		select {
		case b.wake <- struct{}{}:
		default:
		}
	}
}

// waitProcessed blocks until at most ahead records are not yet processed,
// and reports false if ctx ended first. Only the poll loop waits.
func (b *budget) waitProcessed(ctx context.Context, ahead int) bool {
	b.ahead.Store(int64(ahead))
	b.waitingWork.Store(true) // before reading the count: a processed after this sees it
	defer b.waitingWork.Store(false)
	for b.unprocessed.Load() > int64(ahead) {
		select {
		case <-b.wake:
		case <-ctx.Done():
			return false
		}
	}
	return true
}

// release counts n records done (or dropped with a revoked partition), and
// wakes the waiter once there is the room it waits for.
func (b *budget) release(n int) {
	if n == 0 {
		return
	}
	v := b.n.Add(-int64(n))
	if b.waiting.Load() && b.max-v >= b.want.Load() {
		select {
		case b.wake <- struct{}{}:
		default:
		}
	}
}

// used returns the records handed off and not yet done.
func (b *budget) used() int { return int(b.n.Load()) }

// room returns how many more records may be handed off.
func (b *budget) room() int { return int(b.max - b.n.Load()) }

// wait blocks until room is at least want, and reports false if ctx ended
// first. Only one goroutine (the poll loop) waits.
func (b *budget) wait(ctx context.Context, want int) bool {
	b.want.Store(int64(want))
	b.waiting.Store(true) // before reading the count: a release after this sees it
	defer b.waiting.Store(false)
	for b.room() < want {
		select {
		case <-b.wake:
		case <-ctx.Done():
			return false
		}
	}
	return true
}
