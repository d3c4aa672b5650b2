package processor

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hookstream/hookstream/internal/kafkatest"
	"github.com/hookstream/hookstream/rules"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// split reports whether a and b own disjoint, non-empty sets of partitions
// that together are all of 0..parts-1.
func split(a, b map[string][]int32, parts int32) bool {
	if len(a[topic]) == 0 || len(b[topic]) == 0 {
		return false
	}
	u := append(slices.Clone(a[topic]), b[topic]...)
	slices.Sort(u)
	return slices.Equal(u, seq(parts))
}

func seq(n int32) []int32 {
	s := make([]int32, n)
	for i := range s {
		s[i] = int32(i)
	}
	return s
}

// TestSecondMemberTakesOver runs a member that holds part of every
// partition, then adds a second member. The revoked partitions must be
// redelivered by the new owner from the first record the old one had not
// done, late acks on the old owner must not disturb them, and every
// partition keeps being consumed through a join and a leave.
func TestSecondMemberTakesOver(t *testing.T) {
	const parts, n, heldFrom = 6, 60, 20
	c := startCluster(t, parts)
	c.produce(t, parts, n, poison)

	var holding atomic.Bool
	holding.Store(true)
	sinkA := newTestSink(func(h handOver) bool { return holding.Load() && h.rec.Offset >= heldFrom })
	a := startMember(t, c, "g-two", sinkA, nil)
	sinkA.waitFor(t, "member A handing over every record", count(parts*n))
	c.waitCommitted(t, "g-two", "up to the held records", all(parts, heldFrom))

	sinkB := newTestSink(nil)
	b := startMember(t, c, "g-two", sinkB, nil)
	kafkatest.Eventually(t, "the partitions split between A and B", func() bool { return split(a.Assigned(), b.Assigned(), parts) })
	moved := b.Assigned()[topic]

	// B delivers again everything A had not done on the partitions it took.
	for _, p := range moved {
		c.waitCommitted(t, "g-two", "B's partitions at the end", func(m map[int32]int64) bool { return m[p] == n })
	}
	seenB := offsets(sinkB.snapshot())
	for _, p := range moved {
		for off := int64(heldFrom); off < n; off++ {
			if !seenB[p][off] {
				t.Fatalf("partition %d moved to B, but B never handed over offset %d", p, off)
			}
		}
	}

	// A's late acks, including for partitions it lost, must not move
	// anything backwards or past the end.
	holding.Store(false)
	sinkA.release(func(handOver) bool { return true })
	c.waitCommitted(t, "g-two", "every partition at the end", all(parts, n))

	// Both members keep consuming every partition after the rebalance.
	c.produce(t, parts, 10, poison)
	c.waitCommitted(t, "g-two", "new records on every partition", all(parts, n+10))

	// B leaves: A takes every partition back and consumes them.
	b.stop()
	kafkatest.Eventually(t, "A owning every partition again", func() bool {
		return slices.Equal(a.Assigned()[topic], seq(parts))
	})
	c.produce(t, parts, 10, poison)
	c.waitCommitted(t, "g-two", "records after B left", all(parts, n+20))
	seenA := offsets(sinkA.snapshot())
	for _, p := range moved {
		for off := int64(n + 10); off < n+20; off++ {
			if !seenA[p][off] {
				t.Fatalf("partition %d came back to A, but A never handed over offset %d", p, off)
			}
		}
	}
	kafkatest.Eventually(t, "A's status showing every partition done", func() bool {
		st := a.Partitions()
		return len(st) == parts && !slices.ContainsFunc(st, func(s PartitionStatus) bool {
			return s.Pending != 0 || s.Queued != 0 || !s.Oldest.IsZero() || s.Committable != n+20 || s.HighWatermark != n+20
		})
	})
}

// TestBufferedStaysBounded holds every ack: the records handed over and not
// done never exceed MaxBuffered, and everything flows once acks come back.
func TestBufferedStaysBounded(t *testing.T) { synctest.Test(t, testBufferedStaysBounded) }

// testBufferedStaysBounded runs in a synctest bubble, on its fake clock.
func testBufferedStaysBounded(t *testing.T) {
	const parts, n, limit = 3, 200, 50
	c := startClusterOn(t, kafkatest.NewNetwork(), parts)
	c.produce(t, parts, n, poison)
	sink := newTestSink(func(handOver) bool { return true })
	m := startMember(t, c, "g-bounded", sink, func(cfg *Config) { cfg.MaxBuffered = limit })

	sink.waitFor(t, "the budget filling up", count(limit*3/4))
	time.Sleep(time.Second) // on the bubble's clock: fetch rounds in which nothing more may arrive
	synctest.Wait()
	if got := len(sink.snapshot()); got > limit {
		t.Fatalf("%d records handed over with none done, MaxBuffered %d", got, limit)
	}
	if got := m.Buffered(); got > limit {
		t.Fatalf("Buffered() = %d, over MaxBuffered %d", got, limit)
	}

	sink.releaseAll(t, "more records after acks", parts*n)
	c.waitCommitted(t, "g-bounded", "every partition at the end", all(parts, n))
	sink.mu.Lock()
	maxOpen := sink.maxOpen
	sink.mu.Unlock()
	if maxOpen > limit {
		t.Errorf("at most %d records were not done at once, MaxBuffered %d", maxOpen, limit)
	}
}

// TestBufferedBytesStayBounded is TestBufferedStaysBounded for bytes:
// records of 100 KB, every ack held, and a byte bound that records alone
// would never reach; what is in hand never passes the byte bound.
func TestBufferedBytesStayBounded(t *testing.T) { synctest.Test(t, testBufferedBytesStayBounded) }

func testBufferedBytesStayBounded(t *testing.T) {
	const parts, n, bound = 3, 40, 4 << 20
	large := func(p int32, i int) []byte { return fmt.Appendf(poison(p, i), " %0100000d", i) }
	c := startClusterOn(t, kafkatest.NewNetwork(), parts)
	c.produce(t, parts, n, large)
	sink := newTestSink(func(handOver) bool { return true })
	m := startMember(t, c, "g-bytes", sink, func(cfg *Config) { cfg.MaxBufferedBytes = bound })

	sink.waitFor(t, "the byte bound filling up", count(bound/2/100_000))
	time.Sleep(time.Second) // on the bubble's clock: fetch rounds in which nothing more may arrive
	synctest.Wait()
	if h := m.InHand(); h.PeakBytes > bound || h.Bytes > bound || h.MaxBytes != bound {
		t.Fatalf("in hand %+v: over the byte bound %d", h, bound)
	}
	if got := len(sink.snapshot()); got >= parts*n {
		t.Fatalf("all %d records handed over with none done: the byte bound did not pause fetching", got)
	}
	sink.releaseAll(t, "more records after acks", parts*n)
	c.waitCommitted(t, "g-bytes", "every partition at the end", all(parts, n))
	if h := m.InHand(); h.PeakBytes > bound || h.Bytes != 0 || h.Events != 0 {
		t.Errorf("in hand at the end %+v, want nothing and a peak within %d", h, bound)
	}
}

// TestStuckPartitionIsPaused: a partition whose records are never acked is
// paused at its share of the budget, and the others keep flowing.
func TestStuckPartitionIsPaused(t *testing.T) {
	const parts, limit = 4, 100
	c := startCluster(t, parts)
	c.produce(t, 1, 500, poison) // partition 0 only
	c.produce(t, parts, 100, poison)
	var holding atomic.Bool
	holding.Store(true)
	sink := newTestSink(func(h handOver) bool { return holding.Load() && h.rec.Partition == 0 })
	m := startMember(t, c, "g-stuck-part", sink, func(cfg *Config) { cfg.MaxBuffered = limit })

	c.waitCommitted(t, "g-stuck-part", "partitions 1-3 at the end", func(got map[int32]int64) bool {
		return got[1] == 100 && got[2] == 100 && got[3] == 100
	})
	var zero PartitionStatus
	for _, st := range m.Partitions() {
		if st.Partition == 0 {
			zero = st
		}
	}
	// Its limit is half the budget, plus at most one poll of a quarter.
	if zero.Pending == 0 || zero.Pending > limit*3/4 {
		t.Errorf("stuck partition 0 holds %d records, want 1..%d", zero.Pending, limit*3/4)
	}
	if zero.Oldest.IsZero() || zero.Committable > 0 {
		t.Errorf("stuck partition 0: oldest %v, committable %d; want its first record pending", zero.Oldest, zero.Committable)
	}
	if zero.HighWatermark != 600 {
		t.Errorf("partition 0 high watermark = %d, want 600", zero.HighWatermark)
	}
	if got := m.OldestPending(); !got.Equal(zero.Oldest) {
		t.Errorf("OldestPending = %v, want partition 0's %v", got, zero.Oldest)
	}

	holding.Store(false)
	sink.releaseAll(t, "partition 0 flowing again", 900)
	c.waitCommitted(t, "g-stuck-part", "every partition at the end", func(got map[int32]int64) bool {
		return got[0] == 600 && got[1] == 100 && got[2] == 100 && got[3] == 100
	})
}

// TestLostPartitionsResume makes the group session fail: the member loses
// its partitions without committing, rejoins, and delivers again everything
// not done, from the committed offsets.
func TestLostPartitionsResume(t *testing.T) {
	const parts, n, heldFrom = 3, 30, 10
	c := startCluster(t, parts)
	c.produce(t, parts, n, poison)
	var holding atomic.Bool
	holding.Store(true)
	sink := newTestSink(func(h handOver) bool { return holding.Load() && h.rec.Offset >= heldFrom })
	logs := &logCapture{}
	startMember(t, c, "g-lost", sink, func(cfg *Config) { cfg.Logger = slog.New(logs) })
	sink.waitFor(t, "every record handed over", count(parts*n))
	c.waitCommitted(t, "g-lost", "up to the held records", all(parts, heldFrom))

	// One heartbeat answered with a fatal error ends the session.
	c.fake.ControlKey(kmsg.Heartbeat.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
		resp := req.ResponseKind().(*kmsg.HeartbeatResponse)
		resp.ErrorCode = kerr.GroupAuthorizationFailed.Code
		return resp, nil, true
	})
	sink.waitFor(t, "the held records handed over again after rejoining", count(parts*n+parts*(n-heldFrom)))
	for p, at := range c.committed(t, "g-lost") {
		if at != heldFrom {
			t.Fatalf("partition %d committed %d while offsets from %d are held", p, at, heldFrom)
		}
	}
	if !logs.has("partitions lost") {
		t.Errorf("the session failed but no partitions were reported lost")
	}
	holding.Store(false)
	sink.release(func(handOver) bool { return true })
	c.waitCommitted(t, "g-lost", "every partition at the end", all(parts, n))
}

// blockingSink's Send blocks until its context ends, as a sink does while an
// action's queue is full; it counts the sends it gave up on.
type blockingSink struct {
	*testSink
	gaveUp atomic.Int64
}

func (s *blockingSink) Send(ctx context.Context, _ *rules.Compiled, _ string, _ []byte, _ *kgo.Record, _ Ack) error {
	<-ctx.Done()
	s.gaveUp.Add(1)
	return ctx.Err()
}

// TestBlockedSendsYieldToRebalanceAndShutdown: a member whose every Send is
// stuck must still give partitions up in a rebalance, and still shut down
// within ShutdownTimeout, committing nothing it did not deliver. The other
// member then delivers everything.
func TestBlockedSendsYieldToRebalanceAndShutdown(t *testing.T) {
	if !rulesReady() {
		t.Skip("rules cannot decode and compile yet")
	}
	const parts, n = 4, 20
	set, err := rules.CompileAll([]rules.Action{{ID: "all", Trigger: `type == "track"`, URL: "http://hooks.test/all"}}, rules.Options{})
	if err != nil {
		t.Fatal(err)
	}
	store := &rules.Store{}
	store.Swap(set)
	withRules := func(cfg *Config) {
		cfg.Rules = store
		cfg.ShutdownTimeout = 300 * time.Millisecond
	}
	c := startCluster(t, parts)
	c.produce(t, parts, n, func(p int32, i int) []byte {
		return fmt.Appendf(nil, `{"type":"track","event":"E","messageId":"m-%d-%d"}`, p, i)
	})

	stuck := &blockingSink{testSink: newTestSink(nil)}
	a := startMember(t, c, "g-blocked", stuck, withRules)
	kafkatest.Eventually(t, "A owning every partition", func() bool { return slices.Equal(a.Assigned()[topic], seq(parts)) })

	sinkB := newTestSink(nil)
	b := startMember(t, c, "g-blocked", sinkB, withRules)
	kafkatest.Eventually(t, "the partitions split between A and B", func() bool { return split(a.Assigned(), b.Assigned(), parts) })
	for _, p := range b.Assigned()[topic] {
		c.waitCommitted(t, "g-blocked", "B's partitions at the end", func(m map[int32]int64) bool { return m[p] == n })
	}
	for _, p := range a.Assigned()[topic] {
		if at := c.committed(t, "g-blocked")[p]; at != 0 {
			t.Errorf("partition %d committed at %d by a member that delivered nothing", p, at)
		}
	}

	start := time.Now()
	a.stop()
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("shutdown with blocked sends took %v, shutdown timeout 300ms", took)
	}
	if stuck.gaveUp.Load() == 0 {
		t.Errorf("no blocked Send was released by the revoke or the shutdown")
	}
	c.waitCommitted(t, "g-blocked", "every partition at the end, by B", all(parts, n))
}
