package integration

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// ids returns the messageIds carried by a body: one object or an array.
func ids(t *testing.T, body []byte) []string {
	t.Helper()
	var events []map[string]any
	if strings.HasPrefix(strings.TrimSpace(string(body)), "[") {
		if err := json.Unmarshal(body, &events); err != nil {
			t.Fatalf("batch body is not a JSON array of objects: %v: %s", err, body)
		}
	} else {
		var one map[string]any
		if err := json.Unmarshal(body, &one); err != nil {
			t.Fatalf("body is not a JSON object: %v: %s", err, body)
		}
		events = append(events, one)
	}
	out := make([]string, 0, len(events))
	for _, e := range events {
		id, _ := e["messageId"].(string)
		out = append(out, id)
	}
	return out
}

// delivered returns the set of messageIds acknowledged with a 2xx so far.
func delivered(t *testing.T, reqs []request) map[string]int {
	t.Helper()
	seen := map[string]int{}
	for _, r := range reqs {
		if r.Status/100 == 2 {
			for _, id := range ids(t, r.Body) {
				seen[id]++
			}
		}
	}
	return seen
}

func allDelivered(t *testing.T, n int) func([]request) bool {
	return func(reqs []request) bool { return len(delivered(t, reqs)) >= n }
}

func TestDeliveryPerMethodAndMapping(t *testing.T) {
	c := startCluster(t, 2, "events")
	rv := startReceiver(t, nil)
	rules := rulesFor(`actions:
- id: post-raw
  trigger: type == "track" && event == "Signed Up"
  url: URL/raw
- id: put-mapped
  trigger: type == "identify"
  method: PUT
  url: URL/users/{{ userId }}
  headers: {X-Team: growth}
  payload:
    id: userId
    email: traits.email
    missing: traits.nothing.here
    nested: {plan: traits.plan}
- id: patch-page
  trigger: type == "page"
  method: PATCH
  url: URL/pages
- id: delete-alias
  trigger: type == "alias"
  method: DELETE
  url: URL/alias/{{ previousId }}
`, rv.URL)
	startWorker(t, c, "g-methods", rules, nil)
	c.Produce(t,
		&kgo.Record{Topic: "events", Partition: 0, Value: trackEvent(1, "Signed Up")},
		&kgo.Record{Topic: "events", Partition: 1, Value: []byte(`{"type":"identify","userId":"u 2/x","messageId":"m-2","traits":{"email":"a@b.c","plan":"pro"}}`)},
		&kgo.Record{Topic: "events", Partition: 0, Value: []byte(`{"type":"page","name":"Home","messageId":"m-3"}`)},
		&kgo.Record{Topic: "events", Partition: 1, Value: []byte(`{"type":"alias","userId":"u4","previousId":"old-4","messageId":"m-4"}`)},
		&kgo.Record{Topic: "events", Partition: 0, Value: trackEvent(5, "Not Wanted")},
	)
	reqs := rv.waitFor(t, "four deliveries", func(r []request) bool { return len(r) >= 4 })

	byMethod := map[string]request{}
	for _, r := range reqs {
		byMethod[r.Method] = r
		if got := r.Header.Get("Content-Type"); got != "application/json" {
			t.Errorf("%s %s: Content-Type %q", r.Method, r.Path, got)
		}
		if got := r.Header.Get("User-Agent"); !strings.HasPrefix(got, "hookstream/") {
			t.Errorf("%s %s: User-Agent %q", r.Method, r.Path, got)
		}
		if r.Header.Get("Idempotency-Key") == "" {
			t.Errorf("%s %s: no Idempotency-Key", r.Method, r.Path)
		}
		if r.Header.Get("X-Signature") != "" {
			t.Errorf("%s %s: X-Signature sent without a secret", r.Method, r.Path)
		}
	}
	cases := []struct{ method, path, body string }{
		{"POST", "/raw", string(trackEvent(1, "Signed Up"))},
		{"PUT", "/users/u%202%2Fx", `{"email":"a@b.c","id":"u 2/x","missing":null,"nested":{"plan":"pro"}}`},
		{"PATCH", "/pages", `{"type":"page","name":"Home","messageId":"m-3"}`},
		{"DELETE", "/alias/old-4", `{"type":"alias","userId":"u4","previousId":"old-4","messageId":"m-4"}`},
	}
	for _, tc := range cases {
		r, ok := byMethod[tc.method]
		if !ok {
			t.Errorf("no %s request", tc.method)
			continue
		}
		if got := r.Header.Get("X-Team"); tc.method == "PUT" && got != "growth" {
			t.Errorf("PUT: X-Team %q, want growth", got)
		}
		if r.Path != tc.path {
			t.Errorf("%s: path %q, want %q", tc.method, r.Path, tc.path)
		}
		if !jsonEqual(t, r.Body, []byte(tc.body)) {
			t.Errorf("%s: body %s, want %s", tc.method, r.Body, tc.body)
		}
	}
	if len(reqs) != 4 {
		t.Errorf("got %d requests, want 4 (the unmatched event must not be sent)", len(reqs))
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		return false
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("bad expected JSON %s: %v", b, err)
	}
	return fmt.Sprint(x) == fmt.Sprint(y)
}

func TestBatchesFullUnderLoadAndInOrder(t *testing.T) {
	const n, parts = 5000, 4
	c := startCluster(t, parts, "events")
	rv := startReceiver(t, nil)
	var recs []*kgo.Record
	for i := range n {
		recs = append(recs, &kgo.Record{Topic: "events", Partition: int32(i % parts), Value: trackEvent(i, "Order Completed")})
	}
	c.Produce(t, recs...)
	startWorker(t, c, "g-batch", rulesFor(`actions:
- id: orders
  trigger: event == "Order Completed"
  url: URL/orders
  batch: {size: 1000, wait: 30s}
`, rv.URL), nil)
	reqs := rv.waitFor(t, "every event", allDelivered(t, n))

	full := 0
	last := map[int]int{} // partition -> last index seen
	for _, r := range reqs {
		got := ids(t, r.Body)
		if len(got) > 1000 {
			t.Errorf("batch of %d events, want at most 1000", len(got))
		}
		if len(got) == 1000 {
			full++
		}
		for _, id := range got {
			var i int
			fmt.Sscanf(id, "m-%d", &i)
			if prev, ok := last[i%parts]; ok && i <= prev {
				t.Errorf("partition %d: event %d arrived after %d", i%parts, i, prev)
			}
			last[i%parts] = i
		}
	}
	if full < n/1000 {
		t.Errorf("%d full batches of 1000 for a backlog of %d, want %d", full, n, n/1000)
	}
	if seen := delivered(t, reqs); len(seen) != n {
		t.Errorf("delivered %d distinct events, want %d", len(seen), n)
	}
}

func TestSignatureVerifiesIndependently(t *testing.T) {
	const secret = "s3cr3t-shared-key"
	c := startCluster(t, 1, "events")
	rv := startReceiver(t, nil)
	startWorker(t, c, "g-sign", rulesFor(`actions:
- id: signed
  trigger: type == "track"
  url: URL/signed
  secret_env: TEST_HOOK_SECRET
  batch: {size: 3, wait: 100ms}
`, rv.URL), []string{"TEST_HOOK_SECRET=" + secret})
	for i := range 7 {
		c.Produce(t, &kgo.Record{Topic: "events", Value: trackEvent(i, "Clicked")})
	}
	reqs := rv.waitFor(t, "7 signed events", allDelivered(t, 7))
	for _, r := range reqs {
		mac := hmac.New(sha1.New, []byte(secret))
		mac.Write(r.Body)
		want := hex.EncodeToString(mac.Sum(nil))
		if got := r.Header.Get("X-Signature"); got != want {
			t.Errorf("X-Signature %q, want %q for body %s", got, want, r.Body)
		}
	}
}

func TestSigtermDeliversAndCommits(t *testing.T) {
	c := startCluster(t, 2, "events")
	rv := startReceiver(t, nil)
	w := startWorker(t, c, "g-term", rulesFor(`actions:
- id: slow-batch
  trigger: "true"
  url: URL/b
  batch: {size: 1000, wait: 10m}
`, rv.URL), nil)
	var recs []*kgo.Record
	for i := range 10 {
		recs = append(recs, &kgo.Record{Topic: "events", Partition: int32(i % 2), Value: trackEvent(i, "X")})
	}
	c.Produce(t, recs...)
	waitMetric(t, w, `hookstream_events_matched_total{action="slow-batch"}`, 10)
	if len(rv.requests()) != 0 {
		t.Fatalf("a batch with a 10m wait was sent before shutdown")
	}
	if code := w.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
	if seen := delivered(t, rv.requests()); len(seen) != 10 {
		t.Fatalf("delivered %d events on shutdown, want 10", len(seen))
	}
	got := c.Committed(t, "g-term", "events")
	for p, want := range map[int32]int64{0: 5, 1: 5} {
		if got[p] != want {
			t.Errorf("partition %d committed %d, want %d", p, got[p], want)
		}
	}
}

// rejectAll answers every request with status.
func answerAll(status int) func(int, *http.Request, []byte) (int, http.Header) {
	return func(int, *http.Request, []byte) (int, http.Header) { return status, nil }
}
