package integration

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// behindRules: A and B each take their own events; A parks once its oldest
// pending event has waited a second. EXTRA holds each case's settings:
// its batch and what makes it slow.
const behindRules = `actions:
- id: a
  trigger: event == "A"
  url: URLA/a
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

// TestBehindActionParksAndOthersKeepGoing shows the structure of the behind
// rule, not a rate: an action A whose endpoint answers 200 only after a
// long wait, one whose endpoint never answers, and one whose rate_limit is
// below the rate of the events it matches each fall behind and park, and B
// never waits for it.
//
//  1. While A is slow, every B event arrives, exactly once, while A still
//     has most of its backlog undelivered (none of it, for the endpoints
//     that hold their requests).
//  2. A is parked: its events go to the retry topic, and every source
//     partition commits to its end while A is still slow.
//  3. Once A is fast again (a rate limit stays: its retry lane drains at
//     the limit), every A event arrives, in order per source partition.
//
// A's buffer (its share of max_buffered_events) is far below its backlog:
// without the behind rule A fills it and B's sends wait on A.
func TestBehindActionParksAndOthersKeepGoing(t *testing.T) {
	cases := []struct {
		name  string
		extra string
		// answer is A's endpoint while slow is set; nil for a rate limit,
		// which stays. holds: A's endpoint answers nothing while slow.
		answer func(r *http.Request, release <-chan struct{}) int
		holds  bool
	}{
		{"answers 200 after two seconds", "batch: {size: 50, wait: 20ms}\n  timeout: 10s", func(r *http.Request, _ <-chan struct{}) int {
			select {
			case <-time.After(2 * time.Second): // the endpoint's pace, not a wait of the test
			case <-r.Context().Done():
			}
			return http.StatusOK
		}, false},
		{"never answers", "batch: {size: 50, wait: 20ms}\n  timeout: 500ms", func(r *http.Request, _ <-chan struct{}) int {
			<-r.Context().Done()
			return http.StatusGatewayTimeout // the worker gave up: no answer reached it
		}, true},
		// 5 requests of 50 events a second: A's 1,000 events need 4 s
		// sent directly, twice park_after.
		{"rate limit below the matching rate", "batch: {size: 50, wait: 20ms}\n  rate_limit: {requests_per_second: 5, burst: 1}", nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			const parts, n = 12, 2000
			c := startCluster(t, parts, "events")
			var slow atomic.Bool
			slow.Store(true)
			release := make(chan struct{})
			rvA := startReceiver(t, func(_ int, r *http.Request, _ []byte) (int, http.Header) {
				if slow.Load() && tc.answer != nil {
					return tc.answer(r, release), nil
				}
				return http.StatusOK, nil
			})
			var countB atomic.Int64
			rvB := startReceiver(t, counting(&countB))
			rules := strings.NewReplacer("URLA", rvA.URL, "URLB", rvB.URL, "EXTRA", tc.extra).Replace(behindRules)
			w := startWorker(t, c, "g-behind", rules, nil, "--config",
				writeConfig(t, "commit_interval: 100ms\nmax_buffered_events: 400\n"))
			deliveredA := func() int { return len(delivered(t, rvA.requests())) }

			// Warm up: the group is joined and B answered; A matches nothing.
			c.Produce(t, mixedRecords(0, 200, parts, "none")...)
			wantB := int64(100)
			rvB.await(t, "B's warm-up events", func() bool { return countB.Load() >= wantB })

			// 1. A is slow; B gets every one of its events all the same.
			c.Produce(t, mixedRecords(200, n, parts, "A")...)
			wantB += n / 2
			const totalA = n / 2
			rvB.await(t, fmt.Sprintf("all %d B events while A is slow", wantB), func() bool { return countB.Load() >= wantB })
			got := deliveredA()
			if tc.holds && got != 0 {
				t.Fatalf("A's endpoint answered %d events while holding its requests", got)
			}
			if got >= totalA {
				t.Fatalf("A delivered all its %d events before B's arrived: B waited for A", got)
			}
			t.Logf("B had all %d events while A had delivered %d of %d", wantB, got, totalA)

			// 2. A is parked, and every source partition commits to its end
			// while A is still slow: its events wait in the retry topic.
			waitWorker(t, w, "action a to park", func() bool {
				return w.counter("hookstream_events_parked_total", `action="a"`) > 0
			})
			ends := c.EndOffsets(t, "events")
			waitCommitted(t, c, "g-behind", ends)
			if got := deliveredA(); got >= totalA || (tc.holds && got != 0) {
				t.Fatalf("A delivered %d of its %d events before the source partitions committed to their end: the commit waited for A", got, totalA)
			}
			if got := w.counter("hookstream_events_parked_total", `action="b"`); got != 0 {
				t.Errorf("hookstream_events_parked_total for b is %v, want 0", got)
			}
			seenB := delivered(t, rvB.requests())
			for id, k := range seenB {
				if k != 1 {
					t.Errorf("B got event %s %d times, want once", id, k)
				}
			}
			if got := countB.Load(); got != wantB || len(seenB) != int(wantB) {
				t.Errorf("B got %d events, %d distinct, want each of its %d once", got, len(seenB), wantB)
			}

			// 3. A is fast again: every A event arrives, in order per
			// source partition, and the group stays committed at the end.
			slow.Store(false)
			close(release)
			reqs := rvA.waitFor(t, "every A event", func(reqs []request) bool { return len(delivered(t, reqs)) >= totalA })
			assertOrderPerPartition(t, reqs, parts)
			waitCommitted(t, c, "g-behind", ends)
			if got := countB.Load(); got != wantB {
				t.Errorf("B received %d events after A caught up, want %d", got, wantB)
			}
			t.Logf("A: %d events, %v parked", totalA, w.counter("hookstream_events_parked_total", `action="a"`))
		})
	}
}
