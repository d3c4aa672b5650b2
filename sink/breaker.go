package sink

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"
)

// Circuit states as exported to metrics (hookstream_circuit_state).
const (
	StateClosed   = 0
	StateHalfOpen = 1
	StateOpen     = 2
)

// errPermanent tells the breaker that the request reached a live endpoint
// which refused it (a 4xx): the endpoint is up, so it counts as a success.
// errCanceled marks our own shutdown, which says nothing about the endpoint.
var (
	errPermanent = errors.New("permanent refusal")
	errCanceled  = errors.New("delivery canceled")
)

// breaker is an action's circuit breaker: gobreaker decides, this wrapper
// waits. While the breaker is open a delivery sleeps until it may half-open
// instead of spinning on ErrOpenState, and while a half-open probe is out
// the others wait for it to settle. Neither wait is an attempt.
//
// OnStateChange runs under gobreaker's lock, so it only records: the state
// and when it opened. Logging happens afterwards, in the delivering
// goroutine that notices the change.
type breaker struct {
	id      string
	p       *policy // the version that made it; its breaker settings apply
	openFor time.Duration
	cb      *gobreaker.CircuitBreaker[outcome]
	log     *slog.Logger

	state    atomic.Int32 // recorded by OnStateChange
	openedAt atomic.Int64 // unix nanoseconds of the last change to open
	logged   atomic.Int32 // last state logged

	mu      sync.Mutex
	settled chan struct{} // closed and replaced after every request
}

func newBreaker(id string, p *policy, log *slog.Logger) *breaker {
	br := &breaker{id: id, p: p, openFor: p.openFor, log: log, settled: make(chan struct{})}
	failures := uint32(p.failures)
	br.cb = gobreaker.NewCircuitBreaker[outcome](gobreaker.Settings{
		Name:        id,
		MaxRequests: 1,
		Timeout:     p.openFor,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= failures },
		OnStateChange: func(_ string, _, to gobreaker.State) {
			if to == gobreaker.StateOpen {
				br.openedAt.Store(time.Now().UnixNano())
			}
			br.state.Store(int32(to))
		},
		IsSuccessful: func(err error) bool { return err == nil || errors.Is(err, errPermanent) },
		IsExcluded:   func(err error) bool { return errors.Is(err, errCanceled) },
	})
	return br
}

// State returns the breaker's current state: StateClosed, StateHalfOpen or
// StateOpen. An open breaker whose open_for has passed reads as half-open.
func (br *breaker) State() int {
	switch br.cb.State() {
	case gobreaker.StateOpen:
		return StateOpen
	case gobreaker.StateHalfOpen:
		return StateHalfOpen
	default:
		return StateClosed
	}
}

// do runs send through the breaker, waiting while the breaker refuses it.
// It returns ctx's error if ctx ends first; otherwise send's outcome.
func (br *breaker) do(ctx context.Context, send func() outcome) (outcome, error) {
	for {
		br.mu.Lock()
		settled := br.settled
		br.mu.Unlock()

		o, err := br.cb.Execute(func() (outcome, error) {
			o := send()
			return o, o.breakerErr()
		})
		switch {
		case errors.Is(err, gobreaker.ErrOpenState):
			wait := time.Until(time.Unix(0, br.openedAt.Load()).Add(br.openFor)) + time.Millisecond
			if err := sleep(ctx, max(wait, time.Millisecond)); err != nil {
				return outcome{}, err
			}
		case errors.Is(err, gobreaker.ErrTooManyRequests):
			// A probe is out. Wait for it to settle; open_for bounds the wait
			// in case it was ours and a late cancellation kept it silent.
			t := time.NewTimer(br.openFor)
			select {
			case <-settled:
				t.Stop()
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return outcome{}, ctx.Err()
			}
		default:
			br.mu.Lock()
			close(br.settled)
			br.settled = make(chan struct{})
			br.mu.Unlock()
			br.logChange()
			if o.class == classCanceled {
				return o, ctx.Err()
			}
			return o, nil
		}
	}
}

// logChange logs a state change once, from whichever delivery sees it first.
func (br *breaker) logChange() {
	st := br.state.Load()
	if prev := br.logged.Swap(st); prev != st {
		br.log.Warn("circuit breaker changed state", "action", br.id,
			"from", gobreaker.State(prev).String(), "to", gobreaker.State(st).String())
	}
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
