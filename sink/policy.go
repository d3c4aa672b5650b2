package sink

import (
	"time"

	"github.com/hookstream/hookstream/rules"
)

// policy is one action version's delivery settings with every default
// applied. rules.Compile fills the SPEC defaults (rules/defaults.go) in
// already; policyOf applies the same ones again, so that a hand-built
// *rules.Compiled with zero fields still behaves as documented rather than
// retrying with no backoff or never batching. It is computed once per *rules.Compiled and shared, read-only, by
// the batches of that version.
type policy struct {
	a         *rules.Compiled
	batched   bool
	size      int
	wait      time.Duration
	maxBytes  int // 0 = no cap
	method    string
	timeout   time.Duration
	inFlight  int
	retry     retryPolicy
	failures  int
	openFor   time.Duration
	standard  bool // signature: standard
	signature bool // a secret is set
}

type retryPolicy struct {
	maxDuration, initial, max time.Duration
}

func orDuration(d rules.Duration, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d.D()
}

func orInt(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}

func policyOf(a *rules.Compiled) *policy {
	p := &policy{
		a:         a,
		batched:   a.Batch != nil,
		size:      1,
		method:    a.Method,
		timeout:   orDuration(a.Timeout, rules.DefaultTimeout),
		inFlight:  orInt(a.MaxInFlight, rules.DefaultMaxInFlight),
		failures:  orInt(a.Breaker.Failures, rules.DefaultBreakerFailures),
		openFor:   orDuration(a.Breaker.OpenFor, rules.DefaultBreakerOpenFor),
		standard:  a.Signature == "standard",
		signature: len(a.Secrets) > 0,
		retry: retryPolicy{
			maxDuration: orDuration(a.Retry.MaxDuration, rules.DefaultRetryMaxDuration),
			initial:     orDuration(a.Retry.InitialBackoff, rules.DefaultInitialBackoff),
			max:         orDuration(a.Retry.MaxBackoff, rules.DefaultMaxBackoff),
		},
	}
	if p.method == "" {
		p.method = rules.DefaultMethod
	}
	if p.retry.max < p.retry.initial {
		p.retry.max = p.retry.initial
	}
	if p.batched {
		p.size = min(orInt(a.Batch.Size, rules.DefaultBatchSize), rules.MaxBatchSize)
		p.wait = orDuration(a.Batch.Wait, rules.DefaultBatchWait)
		p.maxBytes = max(a.Batch.MaxBytes, 0)
	}
	return p
}

// sameBreaker reports whether two versions of an action can share one
// circuit breaker: a reload that leaves the breaker settings alone keeps
// its state (an open breaker stays open).
func sameBreaker(p, q *policy) bool {
	return p.failures == q.failures && p.openFor == q.openFor
}
