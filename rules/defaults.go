package rules

import "time"

// Defaults and bounds of an action's settings (SPEC §2). Compile fills the
// defaults into Compiled.Action, so other packages never see a zero value.
const (
	DefaultMethod = "POST"

	MaxBatchSize     = 1000
	DefaultBatchSize = MaxBatchSize
	DefaultBatchWait = time.Second

	DefaultTimeout     = 10 * time.Second
	DefaultMaxInFlight = 1
	MaxMaxInFlight     = 64

	DefaultRetryMaxDuration = time.Hour
	DefaultInitialBackoff   = 250 * time.Millisecond
	DefaultMaxBackoff       = 30 * time.Second
	DefaultParkAfter        = 30 * time.Second

	DefaultBreakerFailures = 5
	DefaultBreakerOpenFor  = 10 * time.Second

	// SignatureX sends X-Signature (hex HMAC-SHA1 of the body) when a secret
	// is set. SignatureStandard adds the Standard Webhooks headers.
	SignatureX        = "x-signature"
	SignatureStandard = "standard"
)

// withDefaults returns a copy of a with every zero setting replaced by its
// default. Maps and pointers are copied too, so the result shares nothing
// with a (rate_limit's burst is filled in too). Batch stays nil when absent: the action is unbatched.
func withDefaults(a Action) Action {
	if a.Method == "" {
		a.Method = DefaultMethod
	}
	if a.Batch != nil {
		b := *a.Batch
		if b.Size == 0 {
			b.Size = DefaultBatchSize
		}
		if b.Wait == 0 {
			b.Wait = Duration(DefaultBatchWait)
		}
		a.Batch = &b
	}
	if a.Timeout == 0 {
		a.Timeout = Duration(DefaultTimeout)
	}
	if a.MaxInFlight == 0 {
		a.MaxInFlight = DefaultMaxInFlight
	}
	setDuration(&a.Retry.MaxDuration, DefaultRetryMaxDuration)
	setDuration(&a.Retry.InitialBackoff, DefaultInitialBackoff)
	setDuration(&a.Retry.MaxBackoff, DefaultMaxBackoff)
	setDuration(&a.Retry.ParkAfter, DefaultParkAfter)
	if a.Breaker.Failures == 0 {
		a.Breaker.Failures = DefaultBreakerFailures
	}
	setDuration(&a.Breaker.OpenFor, DefaultBreakerOpenFor)
	if a.Signature == "" {
		a.Signature = SignatureX
	}
	enabled := a.Enabled == nil || *a.Enabled
	a.Enabled = &enabled
	if a.Headers != nil {
		h := make(map[string]string, len(a.Headers))
		for k, v := range a.Headers {
			h[k] = v
		}
		a.Headers = h
	}
	a.Payload = clonePayload(a.Payload)
	a.RateLimit = a.RateLimit.withDefault()
	a.Auth = a.Auth.clone()
	if a.TLS != nil {
		t := *a.TLS
		a.TLS = &t
	}
	return a
}

func setDuration(d *Duration, def time.Duration) {
	if *d == 0 {
		*d = Duration(def)
	}
}

func clonePayload(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			v = clonePayload(sub)
		}
		out[k] = v
	}
	return out
}
