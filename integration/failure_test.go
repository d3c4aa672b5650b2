package integration

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hookstream/hookstream/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kgo"
)

// firstUndelivered returns, per partition, the offset of the first produced
// record whose event the receiver has not acknowledged.
func firstUndelivered(recs []*kgo.Record, seen map[string]int) map[int32]int64 {
	out := map[int32]int64{}
	for _, r := range recs {
		id := fmt.Sprintf("m-%d", r.Context.Value(idKey{}).(int))
		if _, ok := out[r.Partition]; !ok && seen[id] == 0 {
			out[r.Partition] = r.Offset
		}
	}
	return out
}

type idKey struct{}

// trackRecords builds n track events over parts partitions, remembering each
// one's index so offsets can be matched to messageIds.
func trackRecords(n, parts int) []*kgo.Record {
	recs := make([]*kgo.Record, n)
	for i := range n {
		recs[i] = &kgo.Record{Topic: "events", Partition: int32(i % parts), Key: fmt.Appendf(nil, "u%d", i),
			Value: trackEvent(i, "Paid"), Context: contextWith(idKey{}, i)}
	}
	return recs
}

func TestOutageNeverCommitsAheadOfDelivery(t *testing.T) {
	const n, parts = 200, 2
	c := startCluster(t, parts, "events")
	var down atomic.Bool
	down.Store(true)
	rv := startReceiver(t, func(int, *http.Request, []byte) (int, http.Header) {
		if down.Load() {
			return http.StatusInternalServerError, nil
		}
		return http.StatusOK, nil
	})
	recs := trackRecords(n, parts)
	// Half the events are delivered before the outage begins.
	down.Store(false)
	c.Produce(t, recs[:n/2]...)
	startWorker(t, c, "g-outage", rulesFor(`actions:
- id: paid
  trigger: event == "Paid"
  url: URL/paid
  batch: {size: 10, wait: 50ms}
  retry: {initial_backoff: 20ms, max_backoff: 100ms}
  breaker: {failures: 3, open_for: 200ms}
`, rv.URL), nil, "--config", writeConfig(t, "commit_interval: 100ms\n"))
	rv.waitFor(t, "first half", allDelivered(t, n/2))
	down.Store(true)
	c.Produce(t, recs[n/2:]...)
	failedBefore := countStatus(rv.requests(), 500)
	rv.waitFor(t, "failing requests", func(r []request) bool { return countStatus(r, 500) >= failedBefore+5 })

	for range 20 {
		committed := c.Committed(t, "g-outage", "events")
		first := firstUndelivered(recs, delivered(t, rv.requests()))
		for p, off := range committed {
			if f, ok := first[p]; ok && off > f {
				t.Fatalf("partition %d committed %d past the first undelivered record %d", p, off, f)
			}
		}
		rv.waitFor(t, "another failed attempt", func(r []request) bool { return countStatus(r, 500) > failedBefore })
		failedBefore = countStatus(rv.requests(), 500)
	}
	down.Store(false)
	rv.waitFor(t, "every event after the outage", allDelivered(t, n))
	waitCommitted(t, c, "g-outage", map[int32]int64{0: n / parts, 1: n / parts})
}

func countStatus(reqs []request, status int) int {
	n := 0
	for _, r := range reqs {
		if r.Status == status {
			n++
		}
	}
	return n
}

// waitCommitted waits until the group's committed offsets on events equal
// want on every partition want names. Offsets live in the broker: polled.
func waitCommitted(t *testing.T, c *kafkatest.Cluster, group string, want map[int32]int64) {
	t.Helper()
	kafkatest.Wait(t, fmt.Sprintf("group %s to commit %v", group, want),
		func() map[int32]int64 { return c.Committed(t, group, "events") },
		func(got map[int32]int64) bool {
			for p, w := range want {
				if got[p] != w {
					return false
				}
			}
			return true
		})
}

func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "hookstream.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBreakerOpensAndRecovers(t *testing.T) {
	const openFor = 1500 * time.Millisecond
	c := startCluster(t, 1, "events")
	rv := startReceiver(t, func(n int, _ *http.Request, _ []byte) (int, http.Header) {
		if n < 3 {
			return http.StatusServiceUnavailable, nil
		}
		return http.StatusOK, nil
	})
	startWorker(t, c, "g-breaker", rulesFor(`actions:
- id: flaky
  trigger: "true"
  url: URL/flaky
  retry: {initial_backoff: 10ms, max_backoff: 20ms}
  breaker: {failures: 3, open_for: 1500ms}
`, rv.URL), nil)
	c.Produce(t, &kgo.Record{Topic: "events", Value: trackEvent(1, "A")})
	reqs := rv.waitFor(t, "recovery", allDelivered(t, 1))
	if len(reqs) != 4 {
		t.Fatalf("got %d requests, want 3 failures and 1 success", len(reqs))
	}
	// Backoff alone would retry within 20ms; the open breaker holds the probe back.
	if gap := reqs[3].At.Sub(reqs[2].At); gap < openFor {
		t.Errorf("probe came %v after the breaker opened, want at least %v", gap, openFor)
	}
	if gap := reqs[2].At.Sub(reqs[1].At); gap >= openFor {
		t.Errorf("retry before the breaker opened took %v: the breaker opened too early", gap)
	}
}

func TestRetryAfterIsRespected(t *testing.T) {
	c := startCluster(t, 1, "events")
	rv := startReceiver(t, func(n int, _ *http.Request, _ []byte) (int, http.Header) {
		if n == 0 {
			return http.StatusTooManyRequests, http.Header{"Retry-After": {"2"}}
		}
		return http.StatusOK, nil
	})
	startWorker(t, c, "g-429", rulesFor(`actions:
- id: limited
  trigger: "true"
  url: URL/limited
  retry: {initial_backoff: 10ms, max_backoff: 20ms}
`, rv.URL), nil)
	c.Produce(t, &kgo.Record{Topic: "events", Value: trackEvent(1, "A")})
	reqs := rv.waitFor(t, "delivery after 429", allDelivered(t, 1))
	if gap := reqs[1].At.Sub(reqs[0].At); gap < 2*time.Second {
		t.Errorf("retried %v after a 429 with Retry-After: 2, want at least 2s", gap)
	}
	if a, b := reqs[0].Header.Get("Idempotency-Key"), reqs[1].Header.Get("Idempotency-Key"); a != b || a == "" {
		t.Errorf("Idempotency-Key changed across a retry: %q then %q", a, b)
	}
}

func TestPermanentRejectionGoesToDeadLetters(t *testing.T) {
	c := startCluster(t, 1, "events")
	rv := startReceiver(t, answerAll(http.StatusBadRequest))
	startWorker(t, c, "g-400", rulesFor(`actions:
- id: strict
  trigger: "true"
  url: URL/strict
`, rv.URL), nil)
	src := c.Produce(t, &kgo.Record{Topic: "events", Key: []byte("u1"), Value: trackEvent(1, "A"),
		Headers: []kgo.RecordHeader{{Key: "traceparent", Value: []byte("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")}}})[0]
	dl := c.Read(t, "hookstream.dlq", 1)[0]
	if string(dl.Key) != "u1" || string(dl.Value) != string(src.Value) {
		t.Errorf("dead letter key/value %q/%s, want the source record's", dl.Key, dl.Value)
	}
	want := map[string]string{
		"hookstream-reason":           "rejected",
		"hookstream-action":           "strict",
		"hookstream-status":           "400",
		"hookstream-source-topic":     "events",
		"hookstream-source-partition": "0",
		"hookstream-source-offset":    "0",
		"hookstream-attempts":         "1",
		"traceparent":                 "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
	}
	for k, v := range want {
		if got := header(dl, k); got != v {
			t.Errorf("dead letter header %s = %q, want %q", k, got, v)
		}
	}
	if header(dl, "hookstream-error") == "" {
		t.Error("dead letter has no hookstream-error")
	}
	if n := len(rv.requests()); n != 1 {
		t.Errorf("a 400 was retried: %d requests", n)
	}
	waitCommitted(t, c, "g-400", map[int32]int64{0: 1})
}

func TestPoisonRecordsAreDeadLetteredAndStreamGoesOn(t *testing.T) {
	c := startCluster(t, 1, "events")
	rv := startReceiver(t, nil)
	startWorker(t, c, "g-poison", rulesFor(`actions:
- id: all
  trigger: "true"
  url: URL/all
`, rv.URL), nil, "--config", writeConfig(t, "max_event_bytes: 2000\n"))
	poison := []struct{ name, value, reason string }{
		{"invalid JSON", `{"type":"track",`, "decode"},
		{"not an object", `[1,2,3]`, "decode"},
		{"a string", `"track"`, "decode"},
		{"too large", `{"type":"track","pad":"` + strings.Repeat("x", 3000) + `"}`, "too_large"},
		{"invalid UTF-8", "{\"type\":\"track\",\"event\":\"\xff\xfe\"}", "decode"},
		{"wrong field type", `{"type":"track","properties":"nope"}`, "decode"},
	}
	for _, p := range poison {
		c.Produce(t, &kgo.Record{Topic: "events", Value: []byte(p.value)})
	}
	c.Produce(t, &kgo.Record{Topic: "events", Value: trackEvent(99, "Good")})
	rv.waitFor(t, "the good event after the poison", allDelivered(t, 1))
	dls := c.Read(t, "hookstream.dlq", len(poison))
	for i, p := range poison {
		dl := dls[i]
		if got := header(dl, "hookstream-reason"); got != p.reason {
			t.Errorf("%s: reason %q, want %q", p.name, got, p.reason)
		}
		if string(dl.Value) != p.value {
			t.Errorf("%s: dead letter value changed", p.name)
		}
		if header(dl, "hookstream-error") == "" {
			t.Errorf("%s: no hookstream-error header", p.name)
		}
	}
	waitCommitted(t, c, "g-poison", map[int32]int64{0: int64(len(poison) + 1)})
}

func TestHardKillThenRestartLosesNothing(t *testing.T) {
	const n, parts = 3000, 3
	c := startCluster(t, parts, "events")
	rv := startReceiver(t, nil)
	rules := rulesFor(`actions:
- id: all
  trigger: "true"
  url: URL/all
  batch: {size: 50, wait: 20ms}
`, rv.URL)
	w := startWorker(t, c, "g-kill", rules, nil)
	c.Produce(t, trackRecords(n, parts)...)
	rv.waitFor(t, "some deliveries", func(r []request) bool { return len(delivered(t, r)) >= n/10 })
	w.stop(t, syscall.SIGKILL)
	startWorker(t, c, "g-kill", rules, nil)
	reqs := rv.waitFor(t, "every event after the restart", allDelivered(t, n))
	seen := delivered(t, reqs)
	dups := 0
	for _, k := range seen {
		dups += k - 1
	}
	t.Logf("after SIGKILL and restart: %d events, %d duplicates (%.1f%%)", n, dups, 100*float64(dups)/n)
	waitCommitted(t, c, "g-kill", map[int32]int64{0: n / parts, 1: n / parts, 2: n / parts})
}
