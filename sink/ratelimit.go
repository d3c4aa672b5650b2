package sink

import (
	"context"
	"sync"
	"time"

	"github.com/hookstream/hookstream/rules"
	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/time/rate"
)

// rate_limit is one budget for the whole consumer group, kept without a
// coordinator (SPEC §2): each worker allows the share of the source
// partitions it owns, requests_per_second × owned / total, and the burst
// likewise (rounded down, at least one request, since a request cannot be
// split). The processor reports its assignment after every rebalance
// (OnAssigned); until it does, a Sink allows the whole budget, as a single
// worker would.
//
// An action's retry lane delivers the events that workers parked (park.go),
// and a worker may own the retry topic's partition of an action while it
// owns few source partitions, or none. Its limiter therefore does not use
// the worker's share: it allows the share of the source partitions whose
// parked events it holds, at least one. The workers that parked those
// events send nothing directly for that action while parked or draining
// (they go direct again only once the retry lane has delivered everything
// they parked), so the lane takes over exactly the share they left unused
// and the group stays within the limit; a parked action drains as fast as
// the limit allows for the partitions it came from, not at the retry
// owner's share. Only across a rebalance, while a partition's new owner
// sends directly what its old owner parked just before, may the two
// overlap, for one drain at most.
//
// Waiting on the limiter happens inside the breaker's call, before the
// request: it is not an attempt, it counts for nothing against the breaker
// (a wait ended by parking or shutdown is excluded like a cancellation),
// and its time adds to hookstream_rate_limit_wait_seconds_total.

// limiter is one action version's rate limit on this worker.
type limiter struct {
	rps   float64 // the group's budget
	burst int
	rl    *rate.Limiter
}

func newLimiter(r *rules.RateLimit, parts, total int) *limiter {
	l := &limiter{rps: r.RequestsPerSecond, burst: r.Burst, rl: rate.NewLimiter(0, 1)}
	l.setShare(parts, total)
	return l
}

// setShare gives the limiter parts of total partitions' worth of the budget
// (all of it when total is 0: no assignment known).
func (l *limiter) setShare(parts, total int) {
	f := 1.0
	if total > 0 {
		f = float64(min(max(parts, 1), total)) / float64(total)
	}
	l.rl.SetLimit(rate.Limit(l.rps * f))
	l.rl.SetBurst(max(1, int(float64(l.burst)*f)))
}

// wait blocks until the limiter allows one request or ctx ends, and returns
// how long it waited. A nil limiter allows everything at once.
func (l *limiter) wait(ctx context.Context) (time.Duration, error) {
	if l == nil {
		return 0, nil
	}
	if l.rl.Allow() {
		return 0, nil
	}
	start := time.Now()
	err := l.rl.Wait(ctx)
	return time.Since(start), err
}

// waitLimit waits for the action's rate limit, counting the time waited.
func (r *runner) waitLimit(ctx context.Context) error {
	d, err := r.lim.Load().wait(ctx)
	if d > 0 {
		r.s.metrics.RateLimitWait.Add(context.Background(), d.Seconds(), r.attrs.action)
	}
	return err
}

func sameLimit(l *limiter, r *rules.RateLimit) bool {
	return l != nil && r != nil && l.rps == r.RequestsPerSecond && l.burst == r.Burst
}

// share is the worker's assignment: owned of total source partitions.
type share struct{ owned, total int }

// OnAssigned sets this worker's share of every action's rate_limit: it owns
// owned of the total source partitions. The processor calls it after every
// rebalance (processor.Config.OnAssigned).
func (s *Sink) OnAssigned(owned, total int) {
	s.share.Store(&share{owned: owned, total: total})
	s.mu.Lock()
	runners := make([]*runner, 0, 2*len(s.runners))
	for _, r := range s.runners {
		runners = append(runners, r)
		if l := r.lane.Load(); l != nil {
			runners = append(runners, l)
		}
	}
	s.mu.Unlock()
	for _, r := range runners {
		r.applyShare()
	}
}

func (s *Sink) currentShare() share {
	if sh := s.share.Load(); sh != nil {
		return *sh
	}
	return share{}
}

// limitParts is how many partitions' worth of the budget this runner
// allows: the worker's own for a source runner, the partitions of the
// parked events it holds for a retry lane.
func (r *runner) limitParts() int {
	if r.from != nil {
		return r.from.count()
	}
	return r.s.currentShare().owned
}

// applyShare recomputes the runner's limiter after a change of share.
func (r *runner) applyShare() {
	if l := r.lim.Load(); l != nil {
		l.setShare(r.limitParts(), r.s.currentShare().total)
	}
}

// setLimit keeps the runner's limiter in step with the action's current
// version: a reload that leaves rate_limit alone keeps its tokens.
func (r *runner) setLimit(p *policy) {
	rl := p.a.RateLimit
	switch cur := r.lim.Load(); {
	case rl == nil:
		r.lim.Store(nil)
	case !sameLimit(cur, rl):
		r.lim.Store(newLimiter(rl, r.limitParts(), r.s.currentShare().total))
		r.s.metrics.RateLimitWait.Add(context.Background(), 0, r.attrs.action) // the series exists before the first wait (series.go)
	}
}

// partitionCount counts a retry lane's events by source partition, so that
// its limiter allows the share of the partitions they came from.
type partitionCount struct {
	r  *runner // the lane
	mu sync.Mutex
	n  map[topicPartition]int
}

type topicPartition struct {
	topic     string
	partition int32
}

func (c *partitionCount) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.n)
}

// add counts one more event of rec's partition.
func (c *partitionCount) add(rec *kgo.Record) {
	if c == nil || rec == nil {
		return
	}
	c.mu.Lock()
	tp := topicPartition{rec.Topic, rec.Partition}
	c.n[tp]++
	changed := c.n[tp] == 1
	c.mu.Unlock()
	if changed {
		c.r.applyShare()
	}
}

// done counts the events of items as done.
func (c *partitionCount) done(items ...item) {
	if c == nil {
		return
	}
	changed := false
	c.mu.Lock()
	for _, it := range items {
		if it.rec == nil {
			continue
		}
		tp := topicPartition{it.rec.Topic, it.rec.Partition}
		if c.n[tp]--; c.n[tp] <= 0 {
			delete(c.n, tp)
			changed = true
		}
	}
	c.mu.Unlock()
	if changed {
		c.r.applyShare()
	}
}
