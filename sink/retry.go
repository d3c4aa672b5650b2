package sink

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// class is what a delivery attempt's answer means for its events.
type class int

const (
	classSuccess   class = iota // any 2xx: delivered
	classRetry                  // 408, 429, 5xx, timeout, connection error: try again later
	classTooLarge               // 413: split the batch in halves
	classPermanent              // any other answer, or a refused endpoint: dead-letter as rejected
	classCanceled               // the Sink is shutting down: leave the events undone
)

// outcome is one attempt's result.
type outcome struct {
	class      class
	status     int           // HTTP status; 0 when no answer came
	retryAfter time.Duration // from Retry-After; 0 if absent
	err        error         // what went wrong, free of secrets and header values
	took       time.Duration
}

// breakerErr tells the circuit breaker what the outcome says about the
// endpoint: only retryable failures count against it.
func (o outcome) breakerErr() error {
	switch o.class {
	case classSuccess:
		return nil
	case classRetry:
		return o.err
	case classCanceled:
		return errCanceled
	default:
		return errPermanent
	}
}

// classify maps an HTTP status to its class.
func classify(status int) class {
	switch {
	case status >= 200 && status < 300:
		return classSuccess
	case status == http.StatusRequestTimeout, status == http.StatusTooManyRequests, status >= 500:
		return classRetry
	case status == http.StatusRequestEntityTooLarge:
		return classTooLarge
	default:
		// Other 4xx, and also 1xx/3xx: redirects are not followed (a POST
		// would silently become a GET), so a moved endpoint is a
		// configuration problem that retrying cannot fix.
		return classPermanent
	}
}

// codeLabel is the code label of hookstream_deliveries_total.
func codeLabel(status int) string {
	switch {
	case status >= 200 && status < 300:
		return "2xx"
	case status >= 400 && status < 500:
		return "4xx"
	case status >= 500 && status < 600:
		return "5xx"
	default:
		return "error"
	}
}

// parseRetryAfter reads a Retry-After value, delay-seconds or an HTTP date,
// relative to now. It returns 0 for an absent, malformed or past value.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, int64(maxRetryAfter/time.Second))) * time.Second
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	return min(max(t.Sub(now), 0), maxRetryAfter)
}

// maxRetryAfter caps what a Retry-After may ask, only to keep the arithmetic
// sane: any longer wait is past every retry.max_duration anyone sets, and
// the events are dead-lettered instead.
const maxRetryAfter = 7 * 24 * time.Hour

// backoff returns the wait before attempt n+1 after n failed attempts:
// exponential from initial, capped at max, with full jitter (a uniform
// draw in [0, d]) so that many workers recovering together do not hammer
// the endpoint in step.
func backoff(p retryPolicy, n int, jitter func(time.Duration) time.Duration) time.Duration {
	d := p.max
	if shift := n - 1; shift < 62 {
		if e := p.initial << shift; e > 0 && e < p.max {
			d = e
		}
	}
	return jitter(d)
}

// ErrEndpointRefused is what a dialer of Config.HTTP wraps when the delivery
// policy (allowed_hosts, deny_private_networks) forbids an address. The Sink
// then dead-letters the events as rejected instead of retrying.
var ErrEndpointRefused = errors.New("endpoint refused by delivery policy")
