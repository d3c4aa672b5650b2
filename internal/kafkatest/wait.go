package kafkatest

import (
	"fmt"
	"testing"
	"time"
)

// WaitTimeout bounds every wait of Eventually and Wait. It only matters when
// a test fails: a wait that runs out fails the test.
const WaitTimeout = 60 * time.Second

// Eventually and Wait look again after firstPoll, then back off to at most
// maxPoll between looks: quick for in-process state, gentle on a separate
// process or a browser that a test polls for a minute.
const (
	firstPoll = 5 * time.Millisecond
	maxPoll   = 50 * time.Millisecond
)

// Eventually polls cond until it holds and returns how long that took. After
// WaitTimeout it fails the test, naming what it waited for. cond runs in the
// calling goroutine, so it may itself fail the test (t.Fatal).
func Eventually(t testing.TB, what string, cond func() bool) time.Duration {
	t.Helper()
	return poll(t, what, cond, func() string { return "" })
}

// Wait polls get until ok accepts its value, and returns that value. After
// WaitTimeout it fails the test, showing the last value seen.
func Wait[T any](t testing.TB, what string, get func() T, ok func(T) bool) T {
	t.Helper()
	var last T
	poll(t, what, func() bool {
		last = get()
		return ok(last)
	}, func() string { return fmt.Sprintf("; last saw %+v", last) })
	return last
}

func poll(t testing.TB, what string, cond func() bool, last func() string) time.Duration {
	t.Helper()
	start := time.Now()
	for every := firstPoll; !cond(); every = min(2*every, maxPoll) {
		if time.Since(start) > WaitTimeout {
			t.Fatalf("waiting for %s: gave up after %s%s", what, WaitTimeout, last())
		}
		time.Sleep(every)
	}
	return time.Since(start)
}
