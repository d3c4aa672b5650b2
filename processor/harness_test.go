package processor

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hookstream/hookstream/internal/deadletter"
	"github.com/hookstream/hookstream/internal/kafkatest"
	"github.com/hookstream/hookstream/rules"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

const topic = "events"

// cluster is an in-process kfake cluster with a producer and an admin client.
type cluster struct {
	fake *kfake.Cluster
	addr string
	cl   *kgo.Client
	adm  *kadm.Client
	kit  *kafkatest.Cluster
}

func startCluster(t testing.TB, partitions int32) *cluster {
	t.Helper()
	return startClusterOn(t, nil, partitions)
}

// startClusterOn is startCluster on network n (loopback when nil): a test
// under testing/synctest passes a kafkatest.Network made in its bubble.
func startClusterOn(t testing.TB, n *kafkatest.Network, partitions int32) *cluster {
	t.Helper()
	k := kafkatest.Start(t, kafkatest.Config{Network: n, Broker: []kfake.Opt{kfake.SeedTopics(partitions, topic)}})
	return &cluster{fake: k.Fake, addr: k.Addr, cl: k.Client, adm: k.Admin, kit: k}
}

// fastOpts are a client's options on c: it recovers and notices rebalances
// quickly.
func (c *cluster) fastOpts(extra ...kgo.Opt) []kgo.Opt {
	return c.kit.Opts(append([]kgo.Opt{kgo.FetchMaxWait(100 * time.Millisecond),
		kgo.HeartbeatInterval(100 * time.Millisecond)}, extra...)...)
}

// produce writes n records to each of partitions; value builds each value.
func (c *cluster) produce(t *testing.T, partitions int32, n int, value func(p int32, i int) []byte) {
	t.Helper()
	var recs []*kgo.Record
	for p := range partitions {
		for i := range n {
			recs = append(recs, &kgo.Record{Topic: topic, Partition: p, Key: fmt.Appendf(nil, "u%d", i), Value: value(p, i)})
		}
	}
	c.kit.Produce(t, recs...)
}

// poison is a value that never decodes: every record with it is handed to
// the sink as a dead letter, whatever the rules are.
func poison(p int32, i int) []byte { return fmt.Appendf(nil, "not json %d/%d", p, i) }

// committed returns the group's committed offset per partition.
func (c *cluster) committed(t *testing.T, group string) map[int32]int64 {
	t.Helper()
	return c.kit.Committed(t, group, topic)
}

// waitCommitted polls the committed offsets until cond holds. Offsets live in
// the broker, so there is no event to await: this polls.
func (c *cluster) waitCommitted(t *testing.T, group, what string, cond func(map[int32]int64) bool) map[int32]int64 {
	t.Helper()
	return kafkatest.Wait(t, "committed offsets "+what, func() map[int32]int64 { return c.committed(t, group) }, cond)
}

// all returns a condition: every one of partitions is committed at want.
func all(partitions int32, want int64) func(map[int32]int64) bool {
	return func(m map[int32]int64) bool {
		for p := range partitions {
			if m[p] != want {
				return false
			}
		}
		return true
	}
}

// handOver is one call the processor made on the sink.
type handOver struct {
	rec    *kgo.Record
	action string            // the action sent to or dead-lettered for ("" for poison)
	reason deadletter.Reason // dead letters only
	cause  error
	letter bool // DeadLetter rather than Send
	parked bool // SendParked rather than Send
	ack    Ack
}

// testSink is a Sink that records every hand-over. hold decides which ones
// the test acks itself (release); the rest are acked at once from another
// goroutine, as a sink would.
type testSink struct {
	hold func(h handOver) bool

	mu      sync.Mutex
	got     []handOver
	held    []handOver
	open    int // handed over, not yet acked
	maxOpen int
	flushes int
	flush   func(ctx context.Context) error // nil: release everything held
	changed chan struct{}
}

func newTestSink(hold func(h handOver) bool) *testSink {
	return &testSink{hold: hold, changed: make(chan struct{})}
}

func (s *testSink) Send(ctx context.Context, a *rules.Compiled, url string, body []byte, rec *kgo.Record, ack Ack) error {
	s.add(handOver{rec: rec, action: a.ID, ack: ack})
	return nil
}

func (s *testSink) SendParked(ctx context.Context, a *rules.Compiled, url string, body []byte, src *kgo.Record, ack Ack) error {
	s.add(handOver{rec: src, action: a.ID, parked: true, ack: ack})
	return nil
}

func (s *testSink) DeadLetter(ctx context.Context, rec *kgo.Record, reason deadletter.Reason, action string, cause error, ack Ack) {
	s.add(handOver{rec: rec, action: action, reason: reason, cause: cause, letter: true, ack: ack})
}

func (s *testSink) add(h handOver) {
	hold := s.hold != nil && s.hold(h)
	s.mu.Lock()
	s.got = append(s.got, h)
	s.open++
	s.maxOpen = max(s.maxOpen, s.open)
	if hold {
		s.held = append(s.held, h)
	}
	s.notify()
	s.mu.Unlock()
	if !hold {
		go s.ack(h)
	}
}

func (s *testSink) ack(h handOver) {
	s.mu.Lock()
	s.open--
	s.mu.Unlock()
	h.ack.Done()
}

// notify wakes waiters; call with mu held.
func (s *testSink) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *testSink) Flush(ctx context.Context) error {
	s.mu.Lock()
	s.flushes++
	fn := s.flush
	s.notify()
	s.mu.Unlock()
	if fn != nil {
		return fn(ctx)
	}
	s.release(func(handOver) bool { return true })
	return nil
}

// release acks, in order, every held hand-over that match selects.
func (s *testSink) release(match func(handOver) bool) int {
	s.mu.Lock()
	var acks []handOver
	kept := s.held[:0]
	for _, h := range s.held {
		if match(h) {
			acks = append(acks, h)
		} else {
			kept = append(kept, h)
		}
	}
	s.held = kept
	s.mu.Unlock()
	for _, h := range acks {
		s.ack(h)
	}
	return len(acks)
}

// releaseAll acks every held hand-over, and every later one as it comes,
// until want records have been handed over and acked: a held budget refills
// and fetching goes on until all of them arrived.
func (s *testSink) releaseAll(t *testing.T, what string, want int) {
	t.Helper()
	all := func(handOver) bool { return true }
	for got := len(s.snapshot()); got < want; got = len(s.snapshot()) {
		s.release(all)
		s.waitFor(t, what, count(got+1))
	}
	s.release(all)
}

// snapshot returns the hand-overs so far.
func (s *testSink) snapshot() []handOver {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]handOver(nil), s.got...)
}

// waitFor blocks until cond holds for the hand-overs so far.
func (s *testSink) waitFor(t *testing.T, what string, cond func([]handOver) bool) []handOver {
	t.Helper()
	deadline := time.After(kafkatest.WaitTimeout)
	for {
		s.mu.Lock()
		got, changed := append([]handOver(nil), s.got...), s.changed
		s.mu.Unlock()
		if cond(got) {
			return got
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("waiting for %s: gave up with %d hand-overs", what, len(got))
		}
	}
}

// count returns a condition: at least n hand-overs.
func count(n int) func([]handOver) bool {
	return func(hs []handOver) bool { return len(hs) >= n }
}

// member is a running Processor.
type member struct {
	*Processor
	stop func() // cancels Run and waits for it to return nil
}

// startMember runs a Processor in group with sink; edit adjusts its Config.
func startMember(t *testing.T, c *cluster, group string, sink Sink, edit func(*Config)) *member {
	t.Helper()
	cfg := Config{
		Opts:           c.fastOpts(),
		Topics:         []string{topic},
		Group:          group,
		Rules:          &rules.Store{},
		Sink:           sink,
		CommitInterval: MinCommitInterval,
		Logger:         slog.New(slog.DiscardHandler),
	}
	if edit != nil {
		edit(&cfg)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- p.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-ran:
				if err != nil {
					t.Errorf("Run returned %v, want nil", err)
				}
			case <-time.After(kafkatest.WaitTimeout):
				t.Errorf("Run did not return after its context ended")
			}
		})
	}
	t.Cleanup(stop)
	return &member{Processor: p, stop: stop}
}

// offsets returns the offsets handed over per partition.
func offsets(hs []handOver) map[int32]map[int64]bool {
	out := map[int32]map[int64]bool{}
	for _, h := range hs {
		if out[h.rec.Partition] == nil {
			out[h.rec.Partition] = map[int64]bool{}
		}
		out[h.rec.Partition][h.rec.Offset] = true
	}
	return out
}

// rulesReady reports whether the rules package decodes and compiles yet;
// tests of matching and reasons other than "decode" need it.
func rulesReady() bool {
	var ev rules.Event
	if rules.Decode([]byte(`{"type":"track","event":"x"}`), 1<<20, &ev) != nil {
		return false
	}
	_, err := rules.Compile(rules.Action{ID: "probe", Trigger: `type == "track"`, URL: "http://127.0.0.1/x"}, rules.Options{})
	return err == nil
}

// logCapture is a slog.Handler that keeps the message of every record.
type logCapture struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logCapture) Enabled(context.Context, slog.Level) bool { return true }
func (l *logCapture) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logCapture) WithGroup(string) slog.Handler            { return l }
func (l *logCapture) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, r.Message)
	return nil
}

// has reports whether msg was logged.
func (l *logCapture) has(msg string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Contains(l.msgs, msg)
}
