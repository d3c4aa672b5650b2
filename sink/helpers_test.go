package sink

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookstream/hookstream/internal/kafkatest"
	"github.com/hookstream/hookstream/rules"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// seen is one request a test receiver got.
type seen struct {
	ctx    context.Context // the request's; ends when the client gives up
	n      int             // 0-based request number
	method string
	path   string
	header http.Header
	body   string
	at     time.Time
}

// answer is what a receiver replies.
type answer struct {
	status int
	header map[string]string
}

// receiver is an httptest server that reports every request on a channel
// and answers with respond (200 when nil). Assertions stay in the test
// goroutine.
type receiver struct {
	*httptest.Server
	got   chan seen
	count atomic.Int64
}

func newReceiver(t testing.TB, respond func(s seen) answer) *receiver {
	t.Helper()
	return newReceiverOn(t, nil, respond)
}

// newReceiverOn is newReceiver on network n: loopback when n is nil.
func newReceiverOn(t testing.TB, n *kafkatest.Network, respond func(s seen) answer) *receiver {
	t.Helper()
	rc := &receiver{got: make(chan seen, 10000)}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		s := seen{ctx: r.Context(), n: int(rc.count.Add(1) - 1), method: r.Method, path: r.URL.Path, header: r.Header.Clone(), body: string(body), at: time.Now()}
		a := answer{status: http.StatusOK}
		if respond != nil {
			a = respond(s)
		}
		rc.got <- s
		for k, v := range a.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(a.status)
		fmt.Fprint(w, "ok")
	})
	if n != nil {
		rc.Server = n.HTTPServer(t, h)
		return rc
	}
	rc.Server = httptest.NewServer(h)
	t.Cleanup(rc.Close)
	return rc
}

// next returns the next request or fails after a deadline.
func (rc *receiver) next(t *testing.T) seen {
	t.Helper()
	select {
	case s := <-rc.got:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("no request within 10s")
		return seen{}
	}
}

// none asserts that no request arrives within d.
func (rc *receiver) none(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case s := <-rc.got:
		t.Fatalf("unexpected request %d: %s", s.n, s.body)
	case <-time.After(d):
	}
}

// testAction returns a fully filled action, as rules.Compile would, with
// small durations; edit modifies it.
func testAction(id string, edit func(a *rules.Compiled)) *rules.Compiled {
	a := &rules.Compiled{
		Action: rules.Action{
			ID:          id,
			Trigger:     "true",
			URL:         "http://example.invalid/",
			Method:      http.MethodPost,
			Timeout:     rules.Duration(5 * time.Second),
			MaxInFlight: 1,
			Retry: rules.Retry{
				MaxDuration:    rules.Duration(time.Minute),
				InitialBackoff: rules.Duration(5 * time.Millisecond),
				MaxBackoff:     rules.Duration(50 * time.Millisecond),
				ParkAfter:      rules.Duration(30 * time.Second),
			},
			Breaker:   rules.Breaker{Failures: 5, OpenFor: rules.Duration(100 * time.Millisecond)},
			Signature: "x-signature",
		},
		Header: [][2]string{{"Authorization", "Bearer s3cr3t-token"}},
	}
	if edit != nil {
		edit(a)
	}
	return a
}

func batched(size int, wait time.Duration) func(a *rules.Compiled) {
	return func(a *rules.Compiled) {
		a.Batch = &rules.Batch{Size: size, Wait: rules.Duration(wait)}
	}
}

// cluster is an in-process Kafka with a producer for dead letters.
type cluster struct {
	*kafkatest.Cluster
	c        *kfake.Cluster
	producer *kgo.Client
}

func newCluster(t testing.TB, opts ...kfake.Opt) *cluster {
	t.Helper()
	return newClusterOn(t, nil, opts...)
}

// newClusterOn is newCluster on network n: loopback when n is nil.
func newClusterOn(t testing.TB, n *kafkatest.Network, opts ...kfake.Opt) *cluster {
	t.Helper()
	k := kafkatest.Start(t, kafkatest.Config{Network: n, Broker: append([]kfake.Opt{kfake.SeedTopics(1, "hookstream.dlq")}, opts...)})
	return &cluster{Cluster: k, c: k.Fake, producer: k.NewClient(t)}
}

// read consumes n records of topic from the start.
func (cl *cluster) read(t *testing.T, topic string, n int) []*kgo.Record {
	t.Helper()
	return cl.Read(t, topic, n)
}

// newSink starts a Sink closed at cleanup; cfg.Producer defaults to a
// fresh cluster's.
func newSink(t testing.TB, cfg Config) *Sink {
	t.Helper()
	if cfg.Producer == nil {
		cfg.Producer = newCluster(t).producer
	}
	if cfg.Jitter == nil {
		cfg.Jitter = func(d time.Duration) time.Duration { return d }
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Close(ctx)
	})
	return s
}

// dones collects done calls by event name.
type dones struct {
	ch chan string
	mu sync.Mutex
	n  map[string]int
}

func newDones() *dones { return &dones{ch: make(chan string, 100000), n: map[string]int{}} }

// fn returns the acknowledgement of an event called name.
func (d *dones) fn(name string) testAck {
	return testAck{done: func() {
		d.mu.Lock()
		d.n[name]++
		d.mu.Unlock()
		d.ch <- name
	}}
}

// testAck is the acknowledgement a test hands over with an event: done runs
// on Done, and Withdrawn reports withdrawn, if set.
type testAck struct {
	done      func()
	withdrawn *atomic.Bool
}

func (a testAck) Done()           { a.done() }
func (a testAck) Withdrawn() bool { return a.withdrawn != nil && a.withdrawn.Load() }

// wait returns once n done calls arrived, failing after a deadline.
func (d *dones) wait(t *testing.T, n int) []string {
	t.Helper()
	var names []string
	deadline := time.After(15 * time.Second)
	for len(names) < n {
		select {
		case name := <-d.ch:
			names = append(names, name)
		case <-deadline:
			t.Fatalf("%d of %d done calls", len(names), n)
		}
	}
	return names
}

// count returns how often done was called for name.
func (d *dones) count(name string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.n[name]
}

// event returns a small CDP event body and its source record.
func event(i int) ([]byte, *kgo.Record) {
	body := fmt.Appendf(nil, `{"type":"track","event":"e%d","messageId":"m-%d"}`, i, i)
	return body, &kgo.Record{Topic: "events", Partition: 0, Offset: int64(i), Value: body, Key: fmt.Appendf(nil, "u-%d", i),
		Timestamp: time.Now(), Headers: []kgo.RecordHeader{{Key: "traceparent", Value: []byte("00-abc-def-01")}}}
}

// send hands event i to s for a, failing the test on error.
func send(t *testing.T, s *Sink, a *rules.Compiled, url string, i int, d *dones) {
	t.Helper()
	body, rec := event(i)
	if err := s.Send(context.Background(), a, url, body, rec, d.fn(fmt.Sprintf("e%d", i))); err != nil {
		t.Fatal(err)
	}
}

func flush(t *testing.T, s *Sink) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

func header(r *kgo.Record, key string) (string, bool) {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value), true
		}
	}
	return "", false
}
