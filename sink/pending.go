package sink

import (
	"sync"
	"time"
)

// ages counts one action's events that are not done yet by the second of
// their record's timestamp, for hookstream_oldest_undelivered_seconds and
// the status page. An event counts from Send until it is delivered,
// dead-lettered or abandoned at shutdown.
//
// A count per second rather than a heap of events: adding and removing is
// a map update under an uncontended lock, and the oldest is found at scrape
// time by scanning the few seconds that have events pending (at most one
// key per pending event, bounded by Config.MaxBuffered). The price is a
// resolution of one second, which is finer than anyone alerts on.
type ages struct {
	mu sync.Mutex
	n  map[int64]int
}

func newAges() *ages { return &ages{n: map[int64]int{}} }

// second returns the key an event of that record time counts under; an
// event without a timestamp counts from now.
func second(ts time.Time) int64 {
	if ts.IsZero() {
		return time.Now().Unix()
	}
	return ts.Unix()
}

func (a *ages) add(sec int64) {
	a.mu.Lock()
	a.n[sec]++
	a.mu.Unlock()
}

func (a *ages) done(sec int64) {
	a.mu.Lock()
	if a.n[sec] <= 1 {
		delete(a.n, sec)
	} else {
		a.n[sec]--
	}
	a.mu.Unlock()
}

// oldest returns the start of the oldest second with an event pending, and
// false when none is.
func (a *ages) oldest() (time.Time, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var min int64
	found := false
	for sec := range a.n {
		if !found || sec < min {
			min, found = sec, true
		}
	}
	if !found {
		return time.Time{}, false
	}
	return time.Unix(min, 0), true
}

// OldestPending returns, per action that has events not yet done (queued,
// gathered into a batch, in flight, waiting to retry or on their way to the
// dead-letter topic), the record timestamp of the oldest of them, to the
// second. Actions with nothing pending are absent.
func (s *Sink) OldestPending() map[string]time.Time {
	s.mu.Lock()
	runners := make([]*runner, 0, len(s.runners))
	for _, r := range s.runners {
		runners = append(runners, r)
	}
	s.mu.Unlock()
	out := make(map[string]time.Time, len(runners))
	for _, r := range runners {
		if t, ok := r.ages.oldest(); ok {
			out[r.id] = t
		}
	}
	return out
}
