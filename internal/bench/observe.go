package bench

import (
	"bytes"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// observer wraps the worker's delivery transport. It counts requests by
// answer and, while latency is on, reads each delivered body again to take
// every event's sentAt: the time from there to the 2xx answer is the event's
// record-to-delivery latency. (The benchmark sets a record's timestamp and
// its event's sentAt to the same instant.) It sees the worker's side of any
// endpoint, the loopback receiver or a real one.
//
// Outside the latency phase it costs an atomic load and a counter per
// request, so the throughput it observes is the worker's own.
type observer struct {
	next http.RoundTripper

	ok, failed atomic.Int64 // requests answered 2xx, and not (or not at all)
	latency    atomic.Bool

	mu      sync.Mutex
	since   time.Time       // events sent before are not sampled
	samples []time.Duration // record-to-delivery of each delivered event
}

// wrap returns a copy of c (or of a default client) whose transport is
// observed.
func (o *observer) wrap(c *http.Client) *http.Client {
	if c == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 64 // as the sink's own default client
		c = &http.Client{Transport: t}
	}
	out := *c
	o.next = out.Transport
	if o.next == nil {
		o.next = http.DefaultTransport
	}
	out.Transport = o
	return &out
}

func (o *observer) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := o.next.RoundTrip(req)
	if err != nil || resp.StatusCode < 200 || resp.StatusCode > 299 {
		o.failed.Add(1)
		return resp, err
	}
	o.ok.Add(1)
	if o.latency.Load() && req.GetBody != nil {
		o.sample(req, time.Now())
	}
	return resp, err
}

// startLatency starts sampling events sent from since on.
func (o *observer) startLatency(since time.Time) {
	o.mu.Lock()
	o.since, o.samples = since, nil
	o.mu.Unlock()
	o.latency.Store(true)
}

// stopLatency stops sampling and returns the samples.
func (o *observer) stopLatency() []time.Duration {
	o.latency.Store(false)
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.samples
}

var sentAtField = []byte(`"sentAt":"`)

// sample reads the request's body again and records, for every event in it
// sent since the phase began, how long ago its sentAt was.
func (o *observer) sample(req *http.Request, at time.Time) {
	rc, err := req.GetBody()
	if err != nil {
		return
	}
	body, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for {
		i := bytes.Index(body, sentAtField)
		if i < 0 {
			return
		}
		body = body[i+len(sentAtField):]
		j := bytes.IndexByte(body, '"')
		if j < 0 {
			return
		}
		sent, err := time.Parse(time.RFC3339Nano, string(body[:j]))
		if err == nil && !sent.Before(o.since) {
			o.samples = append(o.samples, at.Sub(sent))
		}
	}
}
