package sink

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hookstream/hookstream/internal/kafkatest"
	"github.com/hookstream/hookstream/rules"
)

// hasRunner reports whether the Sink holds a runner for the action.
func hasRunner(s *Sink, id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.runners[id] != nil
}

// TestIdleRunnerRetires: once an action has delivered everything and held
// nothing for IdleAfter, its runner (goroutine, timer) is gone, and its
// next event starts a fresh one that delivers as the first did.
func TestIdleRunnerRetires(t *testing.T) {
	rc := newReceiver(t, nil)
	s := newSink(t, Config{IdleAfter: 20 * time.Millisecond})
	a := testAction("a", nil)
	d := newDones()
	send(t, s, a, rc.URL, 1, d)
	d.wait(t, 1)
	kafkatest.Eventually(t, "the idle runner to retire", func() bool { return !hasRunner(s, "a") })
	if _, ok := s.BreakerStates()["a"]; ok {
		t.Error("a retired action still reports a breaker")
	}
	send(t, s, a, rc.URL, 2, d)
	if got := d.wait(t, 1); got[0] != "e2" {
		t.Fatalf("done %v, want e2", got)
	}
	if rc.count.Load() != 2 {
		t.Errorf("%d requests, want 2", rc.count.Load())
	}
}

// TestIdle checks what keeps a runner from retiring: anything it holds, or
// any state a fresh runner would not start with.
func TestIdle(t *testing.T) {
	s := newSink(t, Config{})
	tests := []struct {
		name string
		edit func(r *runner)
		want bool
	}{
		{"fresh", func(*runner) {}, true},
		{"holds an event", func(r *runner) { r.held = 1 }, false},
		{"request in flight", func(r *runner) { r.inFlight = 1 }, false},
		{"batch queued", func(r *runner) { r.queue = []*batch{{}} }, false},
		{"batch gathering", func(r *runner) { r.deadlines = []deadline{{}} }, false},
		{"event in the channel", func(r *runner) { r.in <- arrival{} }, false},
		{"a retry lane", func(r *runner) { r.src = newRunner(s, "src") }, false},
		{"has a retry lane", func(r *runner) { r.lane.Store(newRunner(s, "lane")) }, false},
		{"breaker counted a failure", func(r *runner) {
			br := newBreaker("a", policyOf(testAction("a", nil)), s.log)
			_, _ = br.cb.Execute(func() (outcome, error) { return outcome{}, errPermanent })
			_, _ = br.cb.Execute(func() (outcome, error) { return outcome{}, fmt.Errorf("503") })
			r.br.Store(br)
		}, false},
		{"breaker without failures", func(r *runner) {
			r.br.Store(newBreaker("a", policyOf(testAction("a", nil)), s.log))
		}, true},
		{"rate limit spent", func(r *runner) {
			l := newLimiter(&rules.RateLimit{RequestsPerSecond: 0.001, Burst: 1}, 1, 1)
			l.rl.Allow()
			r.lim.Store(l)
		}, false},
		{"rate limit full", func(r *runner) {
			r.lim.Store(newLimiter(&rules.RateLimit{RequestsPerSecond: 0.001, Burst: 1}, 1, 1))
		}, true},
		{"parked", func(r *runner) { r.pk = newParking(context.Background()); r.pk.mode = modeParked }, false},
		{"failing", func(r *runner) { r.pk = newParking(context.Background()); r.pk.failing.Store(1) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRunner(s, "a")
			tt.edit(r)
			if got := r.idle(); got != tt.want {
				t.Errorf("idle() = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestRetireRacesSend: with runners retiring as soon as they are idle,
// senders that each wait for their event to be delivered before sending
// the next (so the runner goes idle, and retires, between events) race
// each other on a few actions: every event is delivered exactly once, and
// a Send never hands its event to a runner that has gone.
func TestRetireRacesSend(t *testing.T) {
	rc := newReceiver(t, nil)
	s := newSink(t, Config{IdleAfter: time.Nanosecond})
	const senders, each = 6, 150
	d := newDones()
	var wg sync.WaitGroup
	errs := make(chan error, senders)
	for g := range senders {
		a := testAction(fmt.Sprintf("a%d", g%2), nil)
		wg.Go(func() {
			delivered := make(chan struct{}, 1)
			for i := range each {
				n := g*each + i
				body, rec := event(n)
				done := d.fn(fmt.Sprintf("e%d", n))
				if err := s.Send(context.Background(), a, rc.URL, body, rec, testAck{done: func() { done.Done(); delivered <- struct{}{} }}); err != nil {
					errs <- err
					return
				}
				select {
				case <-delivered:
				case <-time.After(10 * time.Second):
					errs <- fmt.Errorf("event %d not delivered: handed to a runner that retired", n)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	d.wait(t, senders*each)
	for n := range senders * each {
		if c := d.count(fmt.Sprintf("e%d", n)); c != 1 {
			t.Fatalf("event %d done %d times, want 1", n, c)
		}
	}
}
