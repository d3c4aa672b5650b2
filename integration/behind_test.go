package integration

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookstream/hookstream/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kgo"
)

// behindRules: A and B each take their own events; A parks once its oldest
// pending event has waited a second. EXTRA holds each case's setting.
const behindRules = `actions:
- id: a
  trigger: event == "A"
  url: URLA/a
  batch: {size: 50, wait: 20ms}
  retry: {initial_backoff: 20ms, max_backoff: 100ms, park_after: 1s}
  breaker: {failures: 3, open_for: 300ms}
  EXTRA
- id: b
  trigger: event == "B"
  url: URLB/b
  batch: {size: 50, wait: 20ms}
`

// mixedRecords builds n events over parts partitions, numbered from first
// (event i in partition i % parts): odd ones named B, even ones other.
func mixedRecords(first, n, parts int, other string) []*kgo.Record {
	recs := make([]*kgo.Record, n)
	for j := range n {
		i := first + j
		name := other
		if i%2 == 1 {
			name = "B"
		}
		recs[j] = &kgo.Record{Topic: "events", Partition: int32(i % parts), Key: fmt.Appendf(nil, "u%d", i),
			Value: trackEvent(i, name), Context: contextWith(idKey{}, i)}
	}
	return recs
}

// TestBehindActionParksAndOthersKeepTheirRate: an action whose endpoint
// answers 200 after seconds, one whose endpoint never answers, and one whose
// rate_limit is below the rate of the events it matches each fall behind
// and park. Meanwhile B, healthy, delivers all its events at close to the
// rate it has alone (measured in the same run), the source partitions
// commit to their end, and once A catches up every A event has arrived, in
// order per source partition.
func TestBehindActionParksAndOthersKeepTheirRate(t *testing.T) {
	cases := []struct {
		name  string
		extra string
		// answer is A's endpoint while slow is set; fast decides whether A
		// ever gets fast again (a rate limit stays).
		answer func(r *http.Request) int
	}{
		{"answers 200 after two seconds", "timeout: 10s", func(r *http.Request) int {
			select {
			case <-time.After(2 * time.Second):
			case <-r.Context().Done():
			}
			return http.StatusOK
		}},
		{"never answers", "timeout: 500ms", func(r *http.Request) int {
			<-r.Context().Done()
			return http.StatusOK
		}},
		{"rate limit below the matching rate", "rate_limit: {requests_per_second: 20, burst: 1}", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			const parts, n = 12, 8000
			c := startCluster(t, parts, "events")
			var slow atomic.Bool
			rvA := startReceiver(t, func(_ int, r *http.Request, _ []byte) (int, http.Header) {
				if slow.Load() && tc.answer != nil {
					return tc.answer(r), nil
				}
				return http.StatusOK, nil
			})
			var countB atomic.Int64
			rvB := startReceiver(t, counting(&countB))
			rules := strings.NewReplacer("URLA", rvA.URL, "URLB", rvB.URL, "EXTRA", tc.extra).Replace(behindRules)
			w := startWorker(t, c, "g-behind", rules, nil, "--config",
				writeConfig(t, "commit_interval: 100ms\nmax_buffered_events: 8000\n"))

			next, wantB, totalA := 0, int64(0), 0
			produce := func(other string, k int) {
				c.Produce(t, mixedRecords(next, k, parts, other)...)
				next += k
				wantB += int64(k / 2)
				if other == "A" {
					totalA += k / 2
				}
			}
			produce("none", 200) // warm up: the group is joined, B answered
			rvB.await(t, "B's events", func() bool { return countB.Load() >= wantB })

			// B's rate alone (the other half of the events match nothing),
			// then beside a behind A taking that half, on the same volume:
			// the best of three rounds each way (the machine is shared).
			timeB := func(other string) time.Duration {
				start := time.Now()
				produce(other, n)
				rvB.await(t, "B's events", func() bool { return countB.Load() >= wantB })
				return time.Since(start)
			}
			alone := min(timeB("none"), timeB("none"), timeB("none"))
			healthy := time.Duration(0) // B beside A with A fast; a rate limit stays, so not for that case
			if tc.answer != nil {
				healthy = min(timeB("A"), timeB("A"), timeB("A"))
			}
			slow.Store(true)
			produce("A", n)
			kafkatest.Eventually(t, "A parked", func() bool { return w.counter("hookstream_events_parked_total", `action="a"`) > 0 })
			beside := min(timeB("A"), timeB("A"), timeB("A"))
			ratio := alone.Seconds() / beside.Seconds()
			t.Logf("B: %d events in %v alone, %v beside a healthy A, %v beside a behind, parked A (best of 3 each): %.2f of its rate alone, %.2f of its rate beside a healthy A",
				n/2, alone.Round(time.Millisecond), healthy.Round(time.Millisecond), beside.Round(time.Millisecond), ratio, healthy.Seconds()/beside.Seconds())
			// Parking costs the worker a write to the retry topic per event,
			// on the same cores, more than delivering it in a batch would;
			// what must not happen is B stalling behind A, as it did before
			// the behind rule (down to A's pace, a few percent of its rate).
			if ratio < 0.2 {
				t.Errorf("B's rate beside a behind A is %.0f%% of its rate alone, want at least 20%%", 100*ratio)
			}

			// A is still behind, yet every source partition commits to its
			// end: its events wait in the retry topic.
			ends := c.EndOffsets(t, "events")
			waitCommitted(t, c, "g-behind", ends)
			if got := w.counter("hookstream_events_parked_total", `action="b"`); got != 0 {
				t.Errorf("hookstream_events_parked_total for b is %v, want 0", got)
			}

			slow.Store(false)
			reqs := rvA.waitFor(t, "every A event", func(reqs []request) bool { return len(delivered(t, reqs)) >= totalA })
			assertOrderPerPartition(t, reqs, parts)
			if got := countB.Load(); got != wantB {
				t.Errorf("B received %d events, want %d", got, wantB)
			}
			t.Logf("A: %d events, %v parked", totalA, w.counter("hookstream_events_parked_total", `action="a"`))
		})
	}
}
