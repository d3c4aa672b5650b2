package sink

import (
	"net/http"
	"time"

	"github.com/hookstream/hookstream/rules"
)

// SPEC defaults. rules.Compile fills them in already; the sink applies them
// again so that a hand-built *rules.Compiled with zero fields still behaves
// as documented rather than retrying with no backoff or never batching.
const (
	defaultBatchSize      = 1000
	defaultBatchWait      = time.Second
	defaultTimeout        = 10 * time.Second
	defaultMaxInFlight    = 1
	defaultMaxDuration    = time.Hour
	defaultInitialBackoff = 250 * time.Millisecond
	defaultMaxBackoff     = 30 * time.Second
	defaultFailures       = 5
	defaultOpenFor        = 10 * time.Second
)

// policy is one action version's delivery settings with every default
// applied. It is computed once per *rules.Compiled and shared, read-only, by
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
		timeout:   orDuration(a.Timeout, defaultTimeout),
		inFlight:  orInt(a.MaxInFlight, defaultMaxInFlight),
		failures:  orInt(a.Breaker.Failures, defaultFailures),
		openFor:   orDuration(a.Breaker.OpenFor, defaultOpenFor),
		standard:  a.Signature == "standard",
		signature: len(a.Secrets) > 0,
		retry: retryPolicy{
			maxDuration: orDuration(a.Retry.MaxDuration, defaultMaxDuration),
			initial:     orDuration(a.Retry.InitialBackoff, defaultInitialBackoff),
			max:         orDuration(a.Retry.MaxBackoff, defaultMaxBackoff),
		},
	}
	if p.method == "" {
		p.method = http.MethodPost
	}
	if p.retry.max < p.retry.initial {
		p.retry.max = p.retry.initial
	}
	if p.batched {
		p.size = min(orInt(a.Batch.Size, defaultBatchSize), defaultBatchSize)
		p.wait = orDuration(a.Batch.Wait, defaultBatchWait)
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
