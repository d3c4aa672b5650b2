package integration

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookstream/hookstream/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kgo"
)

// isolationRules: A and B each take half of the events; A parks one second
// after its endpoint starts failing. A's timeout outlasts the test, so a
// request its endpoint holds stays in flight until released.
const isolationRules = `actions:
- id: a
  trigger: event == "A"
  url: URLA/a
  batch: {size: 50, wait: 20ms}
  timeout: 5m
  retry: {initial_backoff: 20ms, max_backoff: 100ms, park_after: 1s}
  breaker: {failures: 3, open_for: 300ms}
- id: b
  trigger: event == "B"
  url: URLB/b
  batch: {size: 50, wait: 20ms}
`

// abRecords builds n events over parts partitions, alternating A and B,
// numbered from first.
func abRecords(first, n, parts int) []*kgo.Record {
	recs := make([]*kgo.Record, n)
	for j := range n {
		i := first + j
		name := "A"
		if i%2 == 1 {
			name = "B"
		}
		recs[j] = &kgo.Record{Topic: "events", Partition: int32(i % parts), Key: fmt.Appendf(nil, "u%d", i),
			Value: trackEvent(i, name), Context: contextWith(idKey{}, i)}
	}
	return recs
}

// counting answers 200 and counts the events of every request in n, so a
// rate can be timed without parsing every body seen so far at each request.
func counting(n *atomic.Int64) func(int, *http.Request, []byte) (int, http.Header) {
	return func(_ int, _ *http.Request, body []byte) (int, http.Header) {
		n.Add(int64(bytes.Count(body, []byte(`"messageId"`))))
		return http.StatusOK, nil
	}
}

// TestDeadEndpointParksAndOthersKeepGoing shows the structure of isolation,
// not a rate: B's sends never wait for A, and B is delivered while A is
// parked.
//
//  1. A's endpoint holds every request it gets, unanswered: every B event
//     is still delivered while A has requests in flight and none answered.
//  2. A's endpoint fails (503) until A parks; later events are then all
//     delivered to B, and every source partition commits to its end, while
//     A's endpoint still fails: A's events wait in the retry topic.
//  3. A's endpoint comes back: every A event arrives, in order per source
//     partition, and the group stays committed at the end.
func TestDeadEndpointParksAndOthersKeepGoing(t *testing.T) {
	const parts, n = 12, 2000
	c := startCluster(t, parts, "events")

	const (
		holding = iota
		failing
		up
	)
	var modeA, inFlightA atomic.Int32
	release := make(chan struct{})
	rvA := startReceiver(t, func(_ int, r *http.Request, _ []byte) (int, http.Header) {
		if modeA.Load() == holding {
			inFlightA.Add(1)
			defer inFlightA.Add(-1)
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		if modeA.Load() == up {
			return http.StatusOK, nil
		}
		return http.StatusServiceUnavailable, nil
	})
	var countB atomic.Int64
	rvB := startReceiver(t, counting(&countB))
	rules := strings.NewReplacer("URLA", rvA.URL, "URLB", rvB.URL).Replace(isolationRules)
	w := startWorker(t, c, "g-iso", rules, nil, "--config", writeConfig(t, "commit_interval: 100ms\n"))
	waitB := func(want int) {
		t.Helper()
		rvB.await(t, fmt.Sprintf("%d B events", want), func() bool { return countB.Load() >= int64(want) })
	}

	// 1. A's endpoint holds its requests; B gets every one of its events.
	c.Produce(t, abRecords(0, n, parts)...)
	kafkatest.Eventually(t, "A's endpoint to hold a request", func() bool { return inFlightA.Load() >= 1 })
	waitB(n / 2)
	if got := inFlightA.Load(); got < 1 {
		t.Fatalf("A has %d requests in flight after B's events arrived, want its held ones", got)
	}
	if got := len(delivered(t, rvA.requests())); got != 0 {
		t.Fatalf("A's endpoint answered %d events while holding its requests", got)
	}

	// 2. A fails until it parks; meanwhile and after, B is delivered and
	// every source partition commits to its end.
	modeA.Store(failing)
	close(release)
	waitWorker(t, w, "action a to park", func() bool {
		return w.counter("hookstream_events_parked_total", `action="a"`) >= 1
	})
	c.Produce(t, abRecords(n, n, parts)...)
	waitB(n)
	ends := c.EndOffsets(t, "events")
	waitCommitted(t, c, "g-iso", ends)
	if got := len(delivered(t, rvA.requests())); got != 0 {
		t.Fatalf("A's endpoint answered %d events while failing", got)
	}
	if got := countB.Load(); got != n {
		t.Errorf("B got %d events, want each of its %d once", got, n)
	}
	if got := w.counter("hookstream_events_parked_total", `action="b"`); got != 0 {
		t.Errorf("hookstream_events_parked_total for b is %v, want 0", got)
	}

	// 3. A is back: its parked events arrive, in order per partition.
	modeA.Store(up)
	reqs := rvA.waitFor(t, "every A event after its endpoint returned", func(reqs []request) bool {
		return len(delivered(t, reqs)) >= n
	})
	assertOrderPerPartition(t, reqs, parts)
	waitCommitted(t, c, "g-iso", ends)
}

// assertOrderPerPartition checks that the first delivery of each event
// comes in offset order per source partition (event i is in partition
// i % parts, in increasing order).
func assertOrderPerPartition(t *testing.T, reqs []request, parts int) {
	t.Helper()
	last := make([]int, parts)
	for p := range last {
		last[p] = -1
	}
	seen := map[int]bool{}
	for _, r := range reqs {
		if r.Status/100 != 2 {
			continue
		}
		for _, id := range ids(t, r.Body) {
			i, err := strconv.Atoi(strings.TrimPrefix(id, "m-"))
			if err != nil {
				t.Fatalf("messageId %q", id)
			}
			if seen[i] {
				continue // a duplicate: at-least-once
			}
			seen[i] = true
			if p := i % parts; i < last[p] {
				t.Fatalf("partition %d: event %d delivered after event %d", p, i, last[p])
			} else {
				last[p] = i
			}
		}
	}
}

// counter sums the worker's series of metric name whose labels include
// label; 0 when there is none.
func (w *worker) counter(name, label string) float64 {
	resp, err := http.Get("http://" + w.http + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	sum := 0.0
	for _, line := range strings.Split(string(body), "\n") {
		labels, value, ok := strings.Cut(strings.TrimPrefix(line, name+"{"), "} ")
		if !ok || !strings.HasPrefix(line, name+"{") || !strings.Contains(labels, label) {
			continue
		}
		if f, err := strconv.ParseFloat(value, 64); err == nil {
			sum += f
		}
	}
	return sum
}

// TestFailedTopicWriteCommitsNothingPastIt: while the dead-letter or retry
// topic refuses writes, the records that need them stay undone, so every
// partition stays committed just before the first of them; once writes go
// through, everything is written and committed.
func TestFailedTopicWriteCommitsNothingPastIt(t *testing.T) {
	const parts, skip, hit = 2, 3, 5 // per partition: skip records no action takes, then hit that need the topic
	cases := []struct {
		name   string
		status int
		rules  string
		topic  string
	}{
		{"dead-letter topic", http.StatusBadRequest, `actions:
- id: a
  trigger: event == "A"
  url: URL/a
`, "hookstream.dlq"},
		{"retry topic", http.StatusServiceUnavailable, `actions:
- id: a
  trigger: event == "A"
  url: URL/a
  retry: {initial_backoff: 20ms, max_backoff: 50ms, park_after: 300ms}
  breaker: {failures: 2, open_for: 200ms}
`, "hookstream.retry"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := startCluster(t, parts)
			var recs []*kgo.Record
			for i := range parts * (skip + hit) {
				name := "X"
				if i/parts >= skip {
					name = "A"
				}
				recs = append(recs, &kgo.Record{Topic: "events", Partition: int32(i % parts), Value: trackEvent(i, name)})
			}
			c.Produce(t, recs...)
			var refusing atomic.Bool
			refusing.Store(true)
			refused := make(chan struct{}, 1)
			c.RefuseProduce(&refusing, refused)
			rv := startReceiver(t, answerAll(tc.status))
			startWorker(t, c, "g-refused", rulesFor(tc.rules, rv.URL), nil, "--config", writeConfig(t, "commit_interval: 100ms\n"))

			rv.waitFor(t, "a delivery attempt", func(r []request) bool { return len(r) > 0 })
			before := map[int32]int64{}
			for p := range int32(parts) {
				before[p] = skip
			}
			waitCommitted(t, c, "g-refused", before)
			for range 3 { // several refused writes later, still nothing past them
				select {
				case <-refused:
				case <-time.After(kafkatest.WaitTimeout):
					t.Fatal("no write was attempted")
				}
				for p, at := range c.Committed(t, "g-refused", "events") {
					if at != skip {
						t.Fatalf("partition %d committed at %d while the write for offset %d is refused", p, at, skip)
					}
				}
			}

			refusing.Store(false)
			waitCommitted(t, c, "g-refused", c.EndOffsets(t, "events"))
			got := map[string]bool{}
			for _, r := range c.Read(t, tc.topic, parts*hit) {
				got[header(r, "hookstream-source-partition")+"@"+header(r, "hookstream-source-offset")] = true
			}
			for p := range parts {
				for off := skip; off < skip+hit; off++ {
					if !got[fmt.Sprintf("%d@%d", p, off)] {
						t.Errorf("%s lacks the event at partition %d offset %d", tc.topic, p, off)
					}
				}
			}
		})
	}
}
