package sink

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookstream/hookstream/internal/deadletter"
	"github.com/hookstream/hookstream/rules"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

const (
	// parkCheckEvery is how often a parked action reads the group's
	// committed offsets on the retry topic to learn how far its parked
	// events have been delivered: one OffsetFetch per parked action.
	parkCheckEvery   = 500 * time.Millisecond
	parkCheckTimeout = 5 * time.Second
)

// parkMode is where an action's new events go.
type parkMode int8

const (
	// modeDirect: batched and delivered as usual.
	modeDirect parkMode = iota
	// modeParked: written to the retry topic, in source order.
	modeParked
	// modeDraining: held, neither sent nor parked, until every event this
	// member parked has been delivered from the retry topic; then direct.
	modeDraining
)

func (m parkMode) String() string {
	switch m {
	case modeParked:
		return "parked"
	case modeDraining:
		return "draining"
	default:
		return "direct"
	}
}

// parking is one action's parking state. The fields above the line are
// owned by the action's runner goroutine; the ones below are shared with
// the requests of both lanes, the producer's callbacks and the watcher.
//
// The cycle: an action that has been failing for park_after — or sooner,
// when it is failing and holds Config.MaxBuffered events, because blocking
// Send would then stall every other action reading the same partitions —
// parks: requests waiting to retry hand their events back, and those, the
// queued and gathered events and every later one are written to the retry
// topic in source order. Once the group's committed offsets show parked
// events being delivered and few left, the action drains: new events are
// held until everything it parked is committed, and then it delivers
// directly again. Holding for that short while is what keeps order per
// source partition: a new event never overtakes a parked one. A drain that
// takes longer than park_after, or fills the buffer, parks again.
type parking struct {
	mode      parkMode
	since     time.Time          // mode entered
	began     time.Time          // this park episode began
	waitCtx   context.Context    // ends when the action parks
	stopWait  context.CancelFunc //
	stopWatch context.CancelFunc // the watcher, while not direct
	pending   []item             // to write once no request is in flight
	unacked   int                // written, not yet acknowledged
	spans     map[int32]span     // per retry partition, offsets written this episode
	seen      map[int32]int64    // committed offsets at the previous step
	timer     *time.Timer
	timerAt   time.Time
	// ---
	failing   atomic.Int64                    // unix ns of the first retryable failure since the last success; 0 if none
	committed atomic.Pointer[map[int32]int64] // the group's committed offsets on the retry topic
	wake      chan struct{}                   // something below changed
	mu        sync.Mutex
	acks      []parkAck
}

// span is the range of offsets written to one retry partition.
type span struct{ first, last int64 }

// parkAck is one park write's end: written at partition/offset, or not.
type parkAck struct {
	ok        bool
	partition int32
	offset    int64
}

func newParking(ctx context.Context) *parking {
	pk := &parking{wake: make(chan struct{}, 1), timer: time.NewTimer(time.Hour)}
	pk.timer.Stop()
	pk.waitCtx, pk.stopWait = context.WithCancel(ctx)
	return pk
}

func (pk *parking) poke() {
	select {
	case pk.wake <- struct{}{}:
	default:
	}
}

// failed records a retryable failure of the action's endpoint.
func (pk *parking) failed(now time.Time) {
	if pk != nil && pk.failing.CompareAndSwap(0, now.UnixNano()) {
		pk.poke()
	}
}

// succeeded records an answer that proves the endpoint up (2xx or 4xx).
func (pk *parking) succeeded() {
	if pk != nil && pk.failing.Load() != 0 && pk.failing.Swap(0) != 0 {
		pk.poke()
	}
}

// timerC is the park timer's channel, nil when parking is off.
func (pk *parking) timerC() <-chan time.Time {
	if pk == nil {
		return nil
	}
	return pk.timer.C
}

func (pk *parking) wakeC() <-chan struct{} {
	if pk == nil {
		return nil
	}
	return pk.wake
}

// retryTopic is where parked events go.
func (s *Sink) retryTopic() string { return cmp.Or(s.cfg.RetryTopic, deadletter.DefaultRetryTopic) }

// health is the parking state that this runner's answers count for: its
// own, or its source runner's for a retry lane.
func (r *runner) health() *parking {
	if r.src != nil {
		return r.src.pk
	}
	return r.pk
}

func (r *runner) parkAfter() time.Duration {
	if r.cur == nil {
		return rules.DefaultParkAfter
	}
	return orDuration(r.cur.a.Retry.ParkAfter, rules.DefaultParkAfter)
}

// waitContext is what requests of this runner wait on between attempts: it
// ends with ctx, and for a source runner also when the action parks, so
// that the events come back to be parked instead of waiting on.
func (r *runner) waitContext(ctx context.Context) context.Context {
	if r.pk == nil {
		return ctx
	}
	return r.pk.waitCtx
}

// full reports whether the runner takes no more events, so that Send
// blocks. A retry lane is never full: blocking there would hold back its
// retry partition's reader, and a reader that never finishes its record
// keeps the processor from polling at all (it reads no further ahead of
// its matchers than one poll). Its events are bounded by the processor
// instead, which pauses the retry partition once it holds its share.
func (r *runner) full() bool { return r.src == nil && r.held >= r.s.maxBuffered }

// holds reports whether the source lane must not start requests.
func (r *runner) holds() bool { return r.pk != nil && r.pk.mode != modeDirect }

// parkTake takes an arriving event for the retry topic while parked.
func (r *runner) parkTake(it item) bool {
	if r.pk == nil || r.pk.mode != modeParked {
		return false
	}
	r.pk.pending = append(r.pk.pending, it)
	return true
}

// parkUnsent takes back the events of a request that stopped because the
// action parked.
func (r *runner) parkUnsent(items []item) {
	if len(items) > 0 {
		r.pk.pending = append(r.pk.pending, items...)
	}
}

// parkStep moves the action through its parking cycle; the runner calls it
// after every event it handles.
func (r *runner) parkStep(ctx context.Context) {
	pk := r.pk
	if pk == nil {
		return
	}
	r.takeAcks()
	now := time.Now()
	switch pk.mode {
	case modeDirect:
		full := r.held >= r.s.maxBuffered
		if f := pk.failing.Load(); f != 0 && r.cur != nil {
			since := time.Unix(0, f)
			if full || now.Sub(since) >= r.parkAfter() {
				r.park(ctx, now, "failing for "+now.Sub(since).Round(time.Millisecond).String(), full)
				break
			}
		}
		if waited, ok := r.behind(now); ok {
			r.park(ctx, now, "behind: the oldest pending event has waited "+waited.Round(time.Second).String(), full)
		}
	case modeParked:
		progress, remaining, done := r.parkProgress()
		switch {
		case done:
			r.unpark(ctx, now)
		case progress && remaining <= int64(max(1, r.s.maxBuffered/2)):
			pk.mode, pk.since = modeDraining, now
			r.s.log.Info("parked action draining", "action", r.id, "left", remaining)
		}
	case modeDraining:
		_, _, done := r.parkProgress()
		switch {
		case done:
			r.unpark(ctx, now)
		case r.held >= r.s.maxBuffered || now.Sub(pk.since) >= r.parkAfter():
			r.park(ctx, now, "draining for longer than park_after", r.held >= r.s.maxBuffered)
		}
	}
	if pk.mode == modeParked && r.inFlight == 0 && len(pk.pending) > 0 {
		r.writePending()
	}
	r.armParkTimer()
}

// park starts (or, from draining, resumes) writing the action's events to
// the retry topic.
func (r *runner) park(ctx context.Context, now time.Time, why string, full bool) {
	pk := r.pk
	pk.stopWait() // requests waiting to retry hand their events back
	r.flushAll()
	for i, b := range r.queue {
		pk.pending = append(pk.pending, b.items...)
		r.queue[i] = nil
	}
	r.queue = r.queue[:0:0]
	if pk.mode == modeDirect {
		pk.began = now
		pk.spans = map[int32]span{}
		pk.seen = nil
		pk.committed.Store(nil)
		wctx, stop := context.WithCancel(ctx)
		pk.stopWatch = stop
		r.goroutines.Go(func() { r.s.watchRetry(wctx, pk) })
		r.s.log.Warn("action parked: its events go to the retry topic", "action", r.id,
			"topic", r.s.retryTopic(), "why", why, "buffer_full", full, "events", r.held)
	} else {
		r.s.log.Warn("draining action parked again", "action", r.id, "buffer_full", full, "events", r.held)
	}
	pk.mode, pk.since = modeParked, now
}

// unpark returns the action to direct delivery: everything it parked has
// been delivered from the retry topic.
func (r *runner) unpark(ctx context.Context, now time.Time) {
	pk := r.pk
	pk.stopWatch()
	pk.mode, pk.since = modeDirect, now
	pk.spans, pk.seen = nil, nil
	pk.committed.Store(nil)
	pk.failing.Store(0) // a fresh start: park_after counts from the next failure
	pk.waitCtx, pk.stopWait = context.WithCancel(ctx)
	r.s.log.Info("action unparked: delivering directly again", "action", r.id,
		"parked_for", now.Sub(pk.began).Round(time.Millisecond), "held", r.held)
}

// parkProgress compares what this member parked with the group's committed
// offsets on the retry topic. progress: the commit moved past some of it
// since the last step. remaining: how many records from the commit to the
// last one parked. done: nothing is left in flight or to deliver, so new
// events can go out directly without overtaking a parked one. With nothing
// parked in this episode, done waits for a sign of life from the endpoint
// (a retry-lane answer) instead.
func (r *runner) parkProgress() (progress bool, remaining int64, done bool) {
	pk := r.pk
	var committed map[int32]int64
	if c := pk.committed.Load(); c != nil {
		committed = *c
	}
	for p, sp := range pk.spans {
		at, ok := committed[p]
		if !ok {
			at = -1
		}
		prev, ok := pk.seen[p]
		if !ok {
			prev = -1
		}
		if at > sp.first && at > prev {
			progress = true
		}
		if at <= sp.last {
			remaining += sp.last + 1 - max(at, sp.first)
		}
	}
	if committed != nil {
		pk.seen = committed
	}
	settled := pk.unacked == 0 && len(pk.pending) == 0 && r.inFlight == 0
	done = settled && remaining == 0 && (len(pk.spans) > 0 || pk.failing.Load() == 0)
	return progress, remaining, done
}

// writePending writes the events waiting to be parked, in source order:
// per source partition by offset, which also puts a request's events that
// came back ahead of the queued ones behind them.
func (r *runner) writePending() {
	pk := r.pk
	slices.SortStableFunc(pk.pending, func(a, b item) int {
		if a.rec == nil || b.rec == nil {
			return 0
		}
		return cmp.Or(cmp.Compare(a.rec.Topic, b.rec.Topic),
			cmp.Compare(a.rec.Partition, b.rec.Partition), cmp.Compare(a.rec.Offset, b.rec.Offset))
	})
	topic := r.s.retryTopic()
	for i, it := range pk.pending {
		pk.pending[i] = item{}
		if it.withdrawn() {
			r.held-- // withdrawn: its partition's next owner has it
			r.s.abandon(it)
			continue
		}
		r.writePark(topic, it)
		pk.unacked++
	}
	pk.pending = pk.pending[:0]
}

// writePark writes one event to the retry topic. An event the topic refuses
// as too large is dead-lettered as rejected instead, rather than hold its
// source partition for good.
func (r *runner) writePark(topic string, it item) {
	r.s.writer.write(&write{
		ctx: r.s.ctx,
		rec: deadletter.Park(topic, r.id, it.source()),
		failed: func(_ *kgo.Record, err error) (again, now bool) {
			return !errors.Is(err, kerr.MessageTooLarge), false
		},
		log: []any{"action", r.id, "parked", true},
		done: func(rec *kgo.Record, err error) {
			switch {
			case err == nil:
				r.parkWritten(it, rec)
			case errors.Is(err, kerr.MessageTooLarge):
				r.parkWritten(it, nil)
				r.s.writeDead(r.s.ctx, it, letter{reason: deadletter.ReasonRejected, action: r.id,
					cause: fmt.Errorf("park in %s: %w", topic, err)})
			default:
				r.s.abandon(it)
				r.parkWritten(it, nil)
			}
		},
	})
}

// parkWritten is called by the producer when a park write ended: rec is
// the written record, or nil if the event was not written (abandoned at
// shutdown, or dead-lettered instead).
func (r *runner) parkWritten(it item, rec *kgo.Record) {
	a := parkAck{}
	if rec != nil {
		a = parkAck{ok: true, partition: rec.Partition, offset: rec.Offset}
		r.s.done(it)
	}
	pk := r.pk
	pk.mu.Lock()
	pk.acks = append(pk.acks, a)
	pk.mu.Unlock()
	pk.poke()
}

// takeAcks accounts for the park writes that ended.
func (r *runner) takeAcks() {
	pk := r.pk
	pk.mu.Lock()
	acks := pk.acks
	pk.acks = nil
	pk.mu.Unlock()
	parked := 0
	for _, a := range acks {
		pk.unacked--
		r.held--
		if !a.ok {
			continue
		}
		parked++
		if pk.spans == nil {
			continue
		}
		sp, ok := pk.spans[a.partition]
		if !ok {
			sp = span{first: a.offset, last: a.offset}
		}
		sp.first, sp.last = min(sp.first, a.offset), max(sp.last, a.offset)
		pk.spans[a.partition] = sp
	}
	if parked > 0 { // counted here, once per batch of acks, not in each callback
		r.s.metrics.EventsParked.Add(context.Background(), int64(parked), r.attrs.action)
	}
}

// armParkTimer points the park timer at the next deadline: park_after
// after the first failure when direct, the end of the drain when draining.
func (r *runner) armParkTimer() {
	pk := r.pk
	var at time.Time
	switch pk.mode {
	case modeDirect:
		if f := pk.failing.Load(); f != 0 && r.cur != nil {
			at = time.Unix(0, f).Add(r.parkAfter())
		}
		if b, ok := r.behindAt(); ok && (at.IsZero() || b.Before(at)) {
			at = b
		}
	case modeDraining:
		at = pk.since.Add(r.parkAfter())
	}
	if at.Equal(pk.timerAt) {
		return
	}
	pk.timerAt = at
	if at.IsZero() {
		pk.timer.Stop()
		return
	}
	pk.timer.Reset(max(time.Until(at), 0))
}
