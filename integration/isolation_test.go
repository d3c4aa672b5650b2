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
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// isolationRules: A and B each take half of the events; A parks one second
// after its endpoint starts failing.
const isolationRules = `actions:
- id: a
  trigger: event == "A"
  url: URLA/a
  batch: {size: 50, wait: 20ms}
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

// waitCount blocks until n reaches want, or fails the test.
func waitCount(t *testing.T, rv *receiver, n *atomic.Int64, want int64) {
	t.Helper()
	deadline := time.After(kafkatest.WaitTimeout)
	for {
		rv.mu.Lock()
		changed := rv.changed
		rv.mu.Unlock()
		if n.Load() >= want {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("%d of %d events arrived", n.Load(), want)
		}
	}
}

// TestDeadEndpointParksAndOthersKeepTheirRate: with A's endpoint down for
// longer than park_after, B delivers at (nearly) the rate it had with A
// healthy, measured in the same run; the source partitions keep committing
// to their end while A is still down; and once A is back, every A event
// arrives, in order per source partition.
func TestDeadEndpointParksAndOthersKeepTheirRate(t *testing.T) {
	const parts, n = 12, 8000
	c := startCluster(t, parts, "events")
	var aDown atomic.Bool
	rvA := startReceiver(t, func(int, *http.Request, []byte) (int, http.Header) {
		if aDown.Load() {
			return http.StatusServiceUnavailable, nil
		}
		return http.StatusOK, nil
	})
	var countB atomic.Int64
	rvB := startReceiver(t, counting(&countB))
	rules := strings.NewReplacer("URLA", rvA.URL, "URLB", rvB.URL).Replace(isolationRules)
	w := startWorker(t, c, "g-iso", rules, nil, "--config",
		writeConfig(t, "commit_interval: 100ms\nmax_buffered_events: 8000\n"))

	// Warm up: the group is joined and both endpoints answered.
	c.Produce(t, abRecords(0, 200, parts)...)
	waitCount(t, rvB, &countB, 100)

	// B's rate with A healthy, then with A down, on the same volume, the
	// best of five rounds each: the machine is shared, and a round slowed
	// by something else says nothing about A. B's endpoint never fails, so each
	// of its events arrives once.
	next := 200
	timeB := func() time.Duration {
		start := time.Now()
		c.Produce(t, abRecords(next, n, parts)...)
		next += n
		waitCount(t, rvB, &countB, int64(next/2))
		return time.Since(start)
	}
	healthy := min(timeB(), timeB(), timeB(), timeB(), timeB())
	aDown.Store(true)
	outage := min(timeB(), timeB(), timeB(), timeB(), timeB())
	ratio := healthy.Seconds() / outage.Seconds()
	t.Logf("B: %d events in %v with A healthy, %v with A down (best of 5): isolation ratio %.2f", n/2, healthy.Round(time.Millisecond), outage.Round(time.Millisecond), ratio)
	if ratio < 0.8 {
		t.Errorf("B's rate with A down is %.0f%% of its rate with A healthy, want at least 80%%", 100*ratio)
	}

	// A is still down, yet every source partition commits to its end: A's
	// events are parked in the retry topic.
	ends := c.EndOffsets(t, "events")
	waitCommitted(t, c, "g-iso", ends)
	if got := w.counter("hookstream_events_parked_total", `action="a"`); got < 1 {
		t.Errorf("hookstream_events_parked_total for a is %v, want > 0", got)
	}
	if got := w.counter("hookstream_events_parked_total", `action="b"`); got != 0 {
		t.Errorf("hookstream_events_parked_total for b is %v, want 0", got)
	}

	aDown.Store(false)
	back := time.Now()
	total := next
	reqs := rvA.waitFor(t, "every A event after the endpoint returned", func(reqs []request) bool {
		return len(delivered(t, reqs)) >= total/2
	})
	t.Logf("parked action drained: every A event delivered %v after its endpoint returned", time.Since(back).Round(time.Millisecond))
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

// refuseProduce answers every Produce request with a non-retryable error
// while refusing holds, and reports each refusal on refused.
func refuseProduce(fake *kfake.Cluster, refusing *atomic.Bool, refused chan<- struct{}) {
	fake.ControlKey(kmsg.Produce.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
		fake.KeepControl()
		if !refusing.Load() {
			return nil, nil, false
		}
		pr := req.(*kmsg.ProduceRequest)
		resp := pr.ResponseKind().(*kmsg.ProduceResponse)
		for _, rt := range pr.Topics {
			st := kmsg.NewProduceResponseTopic()
			st.Topic, st.TopicID = rt.Topic, rt.TopicID
			for _, rp := range rt.Partitions {
				sp := kmsg.NewProduceResponseTopicPartition()
				sp.Partition = rp.Partition
				sp.ErrorCode = kerr.TopicAuthorizationFailed.Code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		select {
		case refused <- struct{}{}:
		default:
		}
		return resp, nil, true
	})
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
			refuseProduce(c.Fake, &refusing, refused)
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
