package sink

import (
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hookstream/hookstream/internal/deadletter"
	"github.com/hookstream/hookstream/rules"
)

// TestBreakerOpensAndRecovers runs on synctest's clock: the open window is
// measured exactly, and "nothing is sent while it is open" is shown for
// half of it without waiting.
func TestBreakerOpensAndRecovers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t)
		var up atomic.Bool
		rc := b.receiver(t, downUntil(&up))
		s := b.sink(t, Config{})
		d := newDones()
		const openFor = 10 * time.Second
		a := testAction("brk", func(a *rules.Compiled) {
			a.Breaker = rules.Breaker{Failures: 3, OpenFor: rules.Duration(openFor)}
			a.Retry.InitialBackoff = rules.Duration(time.Millisecond)
			a.Retry.MaxBackoff = rules.Duration(time.Millisecond)
		})
		send(t, s, a, rc.URL, 1, d)
		var third seen
		for range 3 {
			third = rc.next(t)
		}
		synctest.Wait()
		if st := s.BreakerStates()["brk"]; st != StateOpen {
			t.Fatalf("breaker state %d after three failures, want open", st)
		}
		rc.none(t, openFor/2) // nothing is sent while it is open
		up.Store(true)
		probe := rc.next(t)
		if gap := probe.at.Sub(third.at); gap < openFor {
			t.Fatalf("probe %s after the third failure, want no earlier than open_for %s", gap, openFor)
		}
		d.wait(t, 1)
		if st := s.BreakerStates()["brk"]; st != StateClosed {
			t.Fatalf("breaker state %d after a successful probe, want closed", st)
		}
	})
}

func TestBreakerIgnoresPermanentRefusals(t *testing.T) {
	cl := newCluster(t)
	rc := newReceiver(t, func(seen) answer { return answer{status: http.StatusUnprocessableEntity} })
	s := newSink(t, Config{Producer: cl.producer})
	d := newDones()
	a := testAction("strict", func(a *rules.Compiled) { a.Breaker.Failures = 2 })
	for i := range 5 {
		send(t, s, a, rc.URL, i, d)
	}
	d.wait(t, 5)
	if st := s.BreakerStates()["strict"]; st != StateClosed {
		t.Fatalf("breaker state %d after 4xx answers, want closed: the endpoint is up", st)
	}
}

// TestBreakerWaitIsNotAnAttempt runs on synctest's clock, so the number of
// probes in retry.max_duration is exact, not a guess about a busy machine.
func TestBreakerWaitIsNotAnAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t)
		cl := b.cl
		rc := b.receiver(t, func(seen) answer { return answer{status: http.StatusBadGateway} })
		s := b.sink(t, Config{})
		d := newDones()
		a := testAction("flaky", func(a *rules.Compiled) {
			a.Breaker = rules.Breaker{Failures: 2, OpenFor: rules.Duration(100 * time.Millisecond)}
			a.Retry = rules.Retry{MaxDuration: rules.Duration(350 * time.Millisecond),
				InitialBackoff: rules.Duration(time.Millisecond), MaxBackoff: rules.Duration(time.Millisecond)}
		})
		send(t, s, a, rc.URL, 1, d)
		d.wait(t, 1)
		r := cl.read(t, "hookstream.dlq", 1)[0]
		attempts, _ := header(r, deadletter.HeaderAttempts)
		requests := int(rc.count.Load())
		// Two failures open it, then one probe per open_for: about 2 + 3 in 350ms.
		if n, _ := strconv.Atoi(attempts); n != requests || n < 3 || n > 8 {
			t.Fatalf("hookstream-attempts %s, receiver saw %d requests; want them equal and the breaker to have held most retries", attempts, requests)
		}
	})
}

func TestHalfOpenLetsOneProbeThrough(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t)
		var up atomic.Bool
		rc := b.receiver(t, downUntil(&up))
		s := b.sink(t, Config{})
		d := newDones()
		a := testAction("parallel", func(a *rules.Compiled) {
			a.MaxInFlight = 3
			a.Breaker = rules.Breaker{Failures: 1, OpenFor: rules.Duration(300 * time.Millisecond)}
		})
		for i := range 3 {
			send(t, s, a, rc.URL, i, d)
		}
		for range 3 {
			rc.next(t) // all three fail at once
		}
		synctest.Wait()
		if st := s.BreakerStates()["parallel"]; st != StateOpen {
			t.Fatalf("breaker state %d after the failures, want open", st)
		}
		failed := rc.count.Load()
		up.Store(true)
		d.wait(t, 3)
		// One probe, then the other two once it closed the breaker: no request
		// beyond the three that succeed, however the waits interleaved.
		if extra := rc.count.Load() - failed; extra > 3 {
			t.Fatalf("%d requests after the endpoint came back, want at most 3", extra)
		}
	})
}

// downUntil answers 503 until up holds, then 200.
func downUntil(up *atomic.Bool) func(seen) answer {
	return func(seen) answer {
		if up.Load() {
			return answer{status: http.StatusOK}
		}
		return answer{status: http.StatusServiceUnavailable}
	}
}
