package sink

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hookstream/hookstream/internal/deadletter"
	"github.com/hookstream/hookstream/internal/kafkatest"
	"github.com/hookstream/hookstream/internal/telemetry"
	"github.com/hookstream/hookstream/rules"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"golang.org/x/time/rate"
)

func TestLimiterShare(t *testing.T) {
	tests := []struct {
		name         string
		parts, total int
		limit        rate.Limit
		burst        int
	}{
		{"no assignment known: all of it", 0, 0, 24, 12},
		{"a third", 4, 12, 8, 4},
		{"all partitions", 12, 12, 24, 12},
		{"one of many: the burst rounds down to one", 1, 24, 1, 1},
		{"none owned: one partition's share", 0, 12, 2, 1},
		{"more than there are", 15, 12, 24, 12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLimiter(&rules.RateLimit{RequestsPerSecond: 24, Burst: 12}, tt.parts, tt.total)
			if l.rl.Limit() != tt.limit || l.rl.Burst() != tt.burst {
				t.Errorf("share %d/%d: limit %v burst %d, want %v and %d", tt.parts, tt.total, l.rl.Limit(), l.rl.Burst(), tt.limit, tt.burst)
			}
		})
	}
}

// sums collects the counters of reader as "name{labels}" → value.
func sums(t *testing.T, reader *sdkmetric.ManualReader) map[string]float64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, sm := range rm.ScopeMetrics {
		for _, mt := range sm.Metrics {
			switch data := mt.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range data.DataPoints {
					out[mt.Name+labels(p.Attributes.ToSlice())] += float64(p.Value)
				}
			case metricdata.Sum[float64]:
				for _, p := range data.DataPoints {
					out[mt.Name+labels(p.Attributes.ToSlice())] += p.Value
				}
			}
		}
	}
	return out
}

func newMetrics(t *testing.T) (*telemetry.Metrics, *sdkmetric.ManualReader) {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	m, err := telemetry.New(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)).Meter("test"))
	if err != nil {
		t.Fatal(err)
	}
	return m, reader
}

// TestRateLimitWaitIsNotAnAttempt: requests wait for the limiter before
// their timeout starts and without counting against the breaker, which
// opens on a single failure here; the time waited is counted. (In a
// bubble: the limiter's clock is the bubble's.)
func TestRateLimitWaitIsNotAnAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, reader := newMetrics(t)
		b := newBubble(t)
		rc := b.receiver(t, nil)
		s := b.sink(t, Config{Metrics: m})
		a := testAction("limited", func(a *rules.Compiled) {
			a.RateLimit = &rules.RateLimit{RequestsPerSecond: 20, Burst: 1}
			a.MaxInFlight = 8
			a.Timeout = rules.Duration(40 * time.Millisecond)
			a.Breaker.Failures = 1
		})
		d := newDones()
		const n = 9
		for i := range n {
			send(t, s, a, rc.URL, i, d)
		}
		d.wait(t, n)
		var first, last time.Time
		for i := range n {
			r := rc.next(t)
			if i == 0 {
				first = r.at
			}
			last = r.at
		}
		// Nine requests at 20/s with a burst of one: 8 × 50ms apart.
		if span := last.Sub(first); span != 400*time.Millisecond {
			t.Errorf("%d requests within %v, want 400ms at the limit of 20/s", n, span)
		}
		got := sums(t, reader)
		if w := got["hookstream_rate_limit_wait_seconds_total{action=limited}"]; w < 1.4 {
			t.Errorf("rate limit wait = %.3fs, want the 1.8s the requests waited in all (50ms + 100ms + ... + 400ms)", w)
		}
		if got["hookstream_deliveries_total{action=limited,code=2xx}"] != n || got["hookstream_deliveries_total{action=limited,code=error}"] != 0 {
			t.Errorf("deliveries = %v, want %d answered, no error", got, n)
		}
		if st := s.BreakerStates()["limited"]; st != StateClosed {
			t.Errorf("breaker state %d, want closed", st)
		}
	})
}

// TestRateLimitFollowsTheShare: a worker told it owns a quarter of the
// partitions sends at a quarter of the rate, and at the whole rate once it
// owns them all.
func TestRateLimitFollowsTheShare(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t)
		rc := b.receiver(t, nil)
		s := b.sink(t, Config{})
		a := testAction("shared", func(a *rules.Compiled) {
			a.RateLimit = &rules.RateLimit{RequestsPerSecond: 40, Burst: 4}
			a.MaxInFlight = 8
		})
		measure := func(from int) time.Duration {
			d := newDones()
			for i := range 9 {
				send(t, s, a, rc.URL, from+i, d)
			}
			d.wait(t, 9)
			var at []time.Time
			for range 9 {
				at = append(at, rc.next(t).at)
			}
			return at[8].Sub(at[0])
		}
		s.OnAssigned(3, 12) // 10/s, burst 1: 8 intervals of 100ms
		if span := measure(0); span != 800*time.Millisecond {
			t.Errorf("with a quarter of the partitions: 9 requests in %v, want 800ms", span)
		}
		s.OnAssigned(12, 12)    // 40/s, burst 4: 4 at once, then 5 intervals of 25ms
		time.Sleep(time.Second) // quiet: the bucket fills up to the new burst
		if span := measure(100); span != 125*time.Millisecond {
			t.Errorf("with every partition: 9 requests in %v, want 125ms", span)
		}
	})
}

// TestRetryLaneLimitFollowsItsPartitions: the retry lane of a worker that
// owns no source partition allows the share of the partitions whose parked
// events it holds, not its worker's.
func TestRetryLaneLimitFollowsItsPartitions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t)
		rc := b.receiver(t, nil)
		s := b.sink(t, Config{RetryTopic: "hookstream.retry"})
		s.OnAssigned(0, 4)
		a := testAction("drained", func(a *rules.Compiled) {
			a.RateLimit = &rules.RateLimit{RequestsPerSecond: 40, Burst: 4}
			a.MaxInFlight = 8
		})
		d := newDones()
		const n = 12
		for i := range n {
			// Parked events of all four source partitions, read back.
			body, src := event(i)
			src.Partition = int32(i % 4)
			rec := deadletter.Park("hookstream.retry", a.ID, src)
			rec.Partition, rec.Offset = 0, int64(i)
			if err := s.SendParked(context.Background(), a, rc.URL, body, deadletter.Decode(rec).Source, d.fn(fmt.Sprint(i))); err != nil {
				t.Fatal(err)
			}
		}
		d.wait(t, n)
		var at []time.Time
		for range n {
			at = append(at, rc.next(t).at)
		}
		// All four partitions: 40/s. A lane limited to its worker's share (one
		// partition's, 10/s) would take over a second.
		t.Logf("%d parked events from 4 partitions drained in %v", n, at[n-1].Sub(at[0]))
		if span := at[n-1].Sub(at[0]); span > 400*time.Millisecond {
			t.Errorf("%d parked events from 4 partitions drained in %v, want the whole rate (about 200ms)", n, span)
		}
		// The lane forgets a partition just after its last event is done.
		kafkatest.Eventually(t, "the retry lane to count no partition after delivering everything", func() bool {
			s.mu.Lock()
			r := s.runners["drained"]
			s.mu.Unlock()
			return r.lane.Load().from.count() == 0
		})
	})
}
