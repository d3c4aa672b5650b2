package sink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/hookstream/hookstream/internal/deadletter"
	"golang.org/x/oauth2"
)

// maxResponseBody is how much of an answer's body is read (and discarded)
// so that the connection can be reused; a larger body closes it instead.
const maxResponseBody = 64 << 10

// deliver sends b until it is delivered, dead-lettered or ctx ends. It
// calls each event's done (through the Sink) in the first two cases and
// never in the last: an undelivered event stays undone, and so uncommitted.
// When wait ends first (the action parked), it stops at its next wait and
// returns the events it did not send, for the runner to park.
//
// The retry clock starts at the first attempt, not when the batch was
// formed: batches queued behind a failing one (max_in_flight 1) have not
// been tried yet, and waiting their turn is not failing. Time waiting on an
// open breaker after the first attempt does count, since the endpoint is
// failing for these events too.
func (r *runner) deliver(ctx, wait context.Context, b *batch) (unsent []item) {
	r.s.metrics.BatchSize.Record(ctx, int64(len(b.items)), r.attrs.action)
	var first time.Time
	failures := 0
	health := r.health()
	// parked reports whether the action parked (rather than the Sink
	// closing), so the events go back to be parked.
	parked := func() bool { return ctx.Err() == nil && wait.Err() != nil }
	for {
		o, err := b.br.do(wait, func() outcome {
			if err := r.waitLimit(wait); err != nil {
				return outcome{class: classCanceled, err: err}
			}
			return r.post(ctx, b)
		})
		if err != nil {
			if parked() {
				return b.items
			}
			return nil
		}
		b.attempts++
		if first.IsZero() {
			first = time.Now().Add(-o.took)
		}
		if o.class == classRetry {
			health.failed(time.Now())
		} else {
			health.succeeded()
		}
		switch o.class {
		case classSuccess:
			// The events' acks (a thousand done calls, metrics) run beside
			// the next request rather than before it: with max_in_flight 1
			// the time from one answer to the next request bounds the
			// action's throughput. r.goroutines waits for them at shutdown.
			r.goroutines.Go(func() { r.delivered(b) })
			return nil
		case classTooLarge:
			if len(b.items) > 1 {
				h1, h2 := split(b)
				r.s.log.Debug("batch too large, splitting", "action", r.id, "events", len(b.items))
				if rest := r.deliver(ctx, wait, h1); rest != nil {
					return append(rest, h2.items...)
				}
				return r.deliver(ctx, wait, h2)
			}
			r.deadLetter(b, deadletter.ReasonRejected, o)
			return nil
		case classPermanent:
			r.deadLetter(b, deadletter.ReasonRejected, o)
			return nil
		}
		if parked() {
			return b.items
		}
		failures++
		pause := max(backoff(b.p.retry, failures, r.s.jitter), o.retryAfter)
		if time.Since(first)+pause > b.p.retry.maxDuration {
			r.deadLetter(b, deadletter.ReasonRetriesExhausted, o)
			return nil
		}
		r.s.log.Debug("delivery failed, will retry", "action", r.id, "events", len(b.items),
			"status", o.status, "error", o.err, "attempts", b.attempts, "wait", pause)
		if sleep(wait, pause) != nil {
			if parked() {
				return b.items
			}
			return nil
		}
	}
}

// post makes one request for b and classifies the answer. An OAuth2
// action whose token is refused with a 401 fetches a fresh one and tries
// once more before the 401 counts (oauth.go).
func (r *runner) post(ctx context.Context, b *batch) outcome {
	ep := r.ep.Load()
	if ep == nil {
		ep = &endpoint{client: r.s.client}
	}
	o, src := r.attempt(ctx, b, ep)
	if o.status == http.StatusUnauthorized && src != nil {
		r.s.log.Debug("token refused, fetching a fresh one", "action", r.id)
		ep.tokens.refused(src)
		o, _ = r.attempt(ctx, b, ep)
	}
	return o
}

// attempt makes one request for b through ep. src is the token cache the
// request's bearer token came from, nil without OAuth2.
func (r *runner) attempt(ctx context.Context, b *batch, ep *endpoint) (o outcome, src oauth2.TokenSource) {
	p := b.p
	rctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, p.method, b.url, b.body.reader())
	if err != nil {
		return outcome{class: classPermanent, err: fmt.Errorf("%s request: %w", p.method, urlFree(err))}, nil
	}
	req.ContentLength = int64(b.body.Len())
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(b.body.reader()), nil }
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" || req.URL.Host == "" {
		return outcome{class: classPermanent, err: fmt.Errorf("%s request: URL needs http(s) and a host", p.method)}, nil
	}
	r.setHeaders(req.Header, b)
	switch {
	case ep.basic != "":
		req.Header.Set("Authorization", ep.basic)
	case ep.tokens != nil:
		tok, from, err := ep.tokens.token()
		if err != nil {
			if ctx.Err() != nil {
				return outcome{class: classCanceled, err: ctx.Err()}, nil
			}
			return ep.tokens.failure(err), nil
		}
		tok.SetAuthHeader(req)
		src = from
	}
	_, span := r.startSpan(rctx, b, req)

	start := time.Now()
	resp, err := ep.client.Do(req)
	switch {
	case err != nil && ctx.Err() != nil:
		o = outcome{class: classCanceled, err: ctx.Err()}
	case err != nil && certificateProblem(err) != "":
		o = outcome{class: classPermanent, err: fmt.Errorf("%s %s: %s", p.method, req.URL.Host, certificateProblem(err))}
	case errors.Is(err, ErrEndpointRefused):
		o = outcome{class: classPermanent, err: fmt.Errorf("%s %s: %w", p.method, req.URL.Host, urlFree(err))}
	case errors.Is(err, context.DeadlineExceeded):
		o = outcome{class: classRetry, err: fmt.Errorf("%s %s: no answer within %s", p.method, req.URL.Host, p.timeout)}
	case err != nil:
		o = outcome{class: classRetry, err: fmt.Errorf("%s %s: %w", p.method, req.URL.Host, urlFree(err))}
	default:
		// Drain a little so the connection can be reused, then close.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBody))
		resp.Body.Close()
		o = outcome{class: classify(resp.StatusCode), status: resp.StatusCode}
		if o.class != classSuccess {
			o.err = fmt.Errorf("%s %s: status %d", p.method, req.URL.Host, resp.StatusCode)
		}
		if o.class == classRetry {
			o.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), r.s.now())
		}
	}
	o.took = time.Since(start)
	endSpan(span, o)
	if o.class != classCanceled {
		r.s.metrics.Deliveries.Add(ctx, 1, r.attrs.code(o.status))
		r.s.metrics.DeliveryDuration.Record(ctx, o.took.Seconds(), r.attrs.action)
	}
	return o, src
}

// setHeaders writes the request headers. The action's static headers may
// replace Content-Type and User-Agent, but never the Idempotency-Key or the
// signatures, which receivers rely on.
func (r *runner) setHeaders(h http.Header, b *batch) {
	p := b.p
	h["Content-Type"] = []string{"application/json"}
	h["User-Agent"] = []string{r.s.userAgent}
	for _, kv := range p.a.Header {
		h.Set(kv[0], kv[1])
	}
	h["Idempotency-Key"] = []string{b.key}
	if !p.signature {
		return
	}
	if b.sig == "" {
		b.sig = sign(p.a.Secrets[0], b.body)
	}
	h[HeaderSignature] = []string{b.sig}
	if p.standard {
		// The timestamp is the attempt's, as Standard Webhooks asks, so
		// receivers that refuse stale messages accept a late retry.
		ts := r.s.now().Unix()
		h[HeaderWebhookID] = []string{b.key}
		h[HeaderWebhookTimestamp] = []string{strconv.FormatInt(ts, 10)}
		h[HeaderWebhookSignature] = []string{standardSignature(p.a.Secrets, b.key, ts, b.body)}
	}
}

// urlFree strips the URL from a *url.Error: a URL may carry a token in its
// query, and error text ends up in dead letters and logs.
func urlFree(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// delivered finishes b's events after a 2xx.
func (r *runner) delivered(b *batch) {
	now := time.Now()
	r.s.metrics.EventsDelivered.Add(context.Background(), int64(len(b.items)), r.attrs.action)
	for _, it := range b.items {
		if it.rec != nil && !it.rec.Timestamp.IsZero() {
			r.s.metrics.EventLatency.Record(context.Background(), now.Sub(it.rec.Timestamp).Seconds(), r.attrs.record...)
		}
		r.s.done(it)
	}
}
