package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hookstream/hookstream/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kgo"
)

// startTopicWorker runs `hookstream run` without --rules: its actions come
// from the rules topic.
func startTopicWorker(t *testing.T, c *kafkatest.Cluster, group string, args ...string) (*worker, *kafkatest.SyncBuffer) {
	t.Helper()
	w := launch(t, binary, c, group, nil, append([]string{"--commit-interval", "100ms"}, args...)...)
	return w, w.out
}

// hookstreamCmd runs a hookstream command to completion and fails the test
// unless it exits 0.
func hookstreamCmd(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), kafkatest.WaitTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, binary, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("hookstream %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// applyRules writes a rules file and publishes it with `hookstream rules apply`.
func applyRules(t *testing.T, c *kafkatest.Cluster, yaml string, args ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return hookstreamCmd(t, append([]string{"rules", "apply", "-f", path, "--brokers", c.Addr}, args...)...)
}

// actionURLs returns the actions a worker runs, id to URL, from its
// /status.json (nil if it does not answer).
func actionURLs(w *worker) map[string]string {
	resp, err := http.Get("http://" + w.http + "/status.json")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var st struct {
		Actions []struct{ ID, URL string }
	}
	if json.NewDecoder(resp.Body).Decode(&st) != nil {
		return nil
	}
	out := map[string]string{}
	for _, a := range st.Actions {
		out[a.ID] = a.URL
	}
	return out
}

// ready reports whether a worker's /readyz answers 200.
func ready(w *worker) bool {
	resp, err := http.Get("http://" + w.http + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// waitWorker polls a worker until cond holds and returns how long that
// took. The worker is another process: its HTTP answers are what there is
// to await.
func waitWorker(t *testing.T, w *worker, what string, cond func() bool) time.Duration {
	t.Helper()
	return kafkatest.Eventually(t, "worker "+w.http+": "+what, func() bool {
		w.alive(t, what)
		return cond()
	})
}

// sumMetric polls until the sum of one series over workers reaches want.
func sumMetric(t *testing.T, series string, want float64, ws ...*worker) {
	t.Helper()
	kafkatest.Wait(t, fmt.Sprintf("%s summed over workers to reach %v", series, want), func() float64 {
		var sum float64
		for _, w := range ws {
			sum += max(0, w.metric(series))
		}
		return sum
	}, func(sum float64) bool { return sum >= want })
}

// appliedAfter returns the "after" of every "rule changed" log line: how long
// after its record was written each change took effect in the worker.
func appliedAfter(logs string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(logs))
	for sc.Scan() {
		var l struct{ Msg, Action, Change, After string }
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == "rule changed" {
			out = append(out, l.Action+" "+l.Change+" after "+l.After)
		}
	}
	return out
}

// byPath returns the messageIds delivered (2xx) to each path, in request order.
func byPath(t *testing.T, reqs []request) map[string][][]string {
	t.Helper()
	out := map[string][][]string{}
	for _, r := range reqs {
		if r.Status/100 == 2 {
			out[r.Path] = append(out[r.Path], ids(t, r.Body))
		}
	}
	return out
}

const rulesTopicV1 = `actions:
- id: signups
  trigger: type == "track" && event == "Signed Up"
  url: URL/v1
- id: digest
  trigger: type == "track" && event == "Digest"
  url: URL/digest-v1
  batch: {wait: 30s}
- id: doomed
  trigger: type == "track" && event == "Doomed"
  url: URL/doomed
  batch: {wait: 4s}
`

// v2 changes signups and digest, adds pages, and (with --prune) deletes doomed.
const rulesTopicV2 = `actions:
- id: signups
  trigger: type == "track" && event == "Signed Up"
  url: URL/v2
- id: digest
  trigger: type == "track" && event == "Digest"
  url: URL/digest-v2
  batch: {wait: 100ms}
- id: pages
  trigger: type == "page"
  url: URL/pages
`

// TestRulesTopicHotReload runs two workers in one group on the rules topic:
// an event produced before they start is delivered; an added, changed and
// deleted action reaches both; events after the change follow the new
// version; a gathered batch goes out as its version was; a deleted action's
// pending events are delivered; an invalid action keeps the old version.
func TestRulesTopicHotReload(t *testing.T) {
	c := startCluster(t, 2, "events")
	rv := startReceiver(t, nil)
	out := applyRules(t, c, rulesFor(rulesTopicV1, rv.URL))
	if !strings.Contains(out, "created the rules topic hookstream.rules") || !strings.Contains(out, "3 added") {
		t.Fatalf("apply v1:\n%s", out)
	}

	// Readiness: this event is on the topic before any worker exists.
	c.Produce(t, &kgo.Record{Topic: "events", Partition: 0, Value: trackEvent(0, "Signed Up")})
	w1, logs1 := startTopicWorker(t, c, "g-rules")
	w2, logs2 := startTopicWorker(t, c, "g-rules")
	rv.waitFor(t, "the event produced before start", func(r []request) bool { return delivered(t, r)["m-0"] > 0 })
	for _, w := range []*worker{w1, w2} {
		waitWorker(t, w, "ready", func() bool { return ready(w) })
	}
	// The group has settled, one partition each: no rebalance below takes a
	// partition away from the worker that gathered its events (a revoked
	// partition's unsent events are its next owner's to deliver).
	for _, w := range []*worker{w1, w2} {
		waitWorker(t, w, "a partition of its own", func() bool {
			e, err := tryScrape(w)
			n := 0
			for _, s := range e.series("hookstream_consumer_lag") {
				if s.labels["topic"] == "events" {
					n++
				}
			}
			return err == nil && n == 1
		})
	}

	// Gathered under v1: two digest events (wait 30s) and two doomed (4s).
	c.Produce(t,
		&kgo.Record{Topic: "events", Partition: 0, Value: trackEvent(1, "Digest")},
		&kgo.Record{Topic: "events", Partition: 0, Value: trackEvent(2, "Digest")},
		&kgo.Record{Topic: "events", Partition: 1, Value: trackEvent(3, "Doomed")},
		&kgo.Record{Topic: "events", Partition: 1, Value: trackEvent(4, "Doomed")},
	)
	sumMetric(t, `hookstream_events_matched_total{action="digest"}`, 2, w1, w2)
	sumMetric(t, `hookstream_events_matched_total{action="doomed"}`, 2, w1, w2)

	applied := time.Now()
	out = applyRules(t, c, rulesFor(rulesTopicV2, rv.URL), "--prune")
	published := time.Now()
	if !strings.Contains(out, "1 added, 2 changed, 0 unchanged, 1 removed") {
		t.Fatalf("apply v2:\n%s", out)
	}
	for i, w := range []*worker{w1, w2} {
		took := waitWorker(t, w, "v2", func() bool {
			urls := actionURLs(w)
			_, doomed := urls["doomed"]
			return urls["signups"] == rv.URL+"/v2" && urls["pages"] != "" && !doomed
		})
		t.Logf("worker %d: v2 seen on its status page %s after `rules apply` returned (the command took %s)",
			i+1, took.Round(time.Millisecond), published.Sub(applied).Round(time.Millisecond))
	}
	deleted := time.Now()
	for i, w := range []*worker{w1, w2} {
		if n := w.metric("hookstream_rules_active"); n != 3 {
			t.Errorf("worker %d: hookstream_rules_active = %v, want 3 (signups, digest, pages)", i+1, n)
		}
	}
	for i, l := range []*kafkatest.SyncBuffer{logs1, logs2} {
		t.Logf("worker %d: %s", i+1, strings.Join(appliedAfter(l.String()), "; "))
	}

	// After the change, on both partitions (so on both workers).
	c.Produce(t,
		&kgo.Record{Topic: "events", Partition: 0, Value: trackEvent(10, "Signed Up")},
		&kgo.Record{Topic: "events", Partition: 1, Value: trackEvent(11, "Signed Up")},
		&kgo.Record{Topic: "events", Partition: 0, Value: []byte(`{"type":"page","messageId":"m-12"}`)},
		&kgo.Record{Topic: "events", Partition: 1, Value: []byte(`{"type":"page","messageId":"m-13"}`)},
		&kgo.Record{Topic: "events", Partition: 0, Value: trackEvent(14, "Digest")},
		&kgo.Record{Topic: "events", Partition: 1, Value: trackEvent(15, "Doomed")},
	)
	want := []string{"m-0", "m-1", "m-2", "m-3", "m-4", "m-10", "m-11", "m-12", "m-13", "m-14"}
	rv.waitFor(t, "every event", func(r []request) bool {
		seen := delivered(t, r)
		return !slices.ContainsFunc(want, func(id string) bool { return seen[id] == 0 })
	})
	// The doomed event produced after the deletion must not be delivered:
	// once its partition's commit passes it, it is done without a request.
	waitCommitted(t, c, "g-rules", map[int32]int64{0: 6, 1: 5})
	reqs := rv.requests()
	paths := byPath(t, reqs)
	wantPaths := map[string][][]string{
		"/v1":        {{"m-0"}},
		"/v2":        nil, // checked below: m-10 and m-11, any order
		"/pages":     nil, // m-12 and m-13
		"/digest-v1": {{"m-1", "m-2"}},
		"/digest-v2": {{"m-14"}},
		"/doomed":    {{"m-3", "m-4"}},
	}
	for path, w := range wantPaths {
		if w != nil && !equalBatches(paths[path], w) {
			t.Errorf("%s received %v, want %v", path, paths[path], w)
		}
	}
	for path, ids := range map[string][]string{"/v2": {"m-10", "m-11"}, "/pages": {"m-12", "m-13"}} {
		var got []string
		for _, b := range paths[path] {
			got = append(got, b...)
		}
		slices.Sort(got)
		if !slices.Equal(got, ids) {
			t.Errorf("%s received %v, want %v", path, got, ids)
		}
	}
	if len(paths) != len(wantPaths) {
		t.Errorf("requests went to %d paths, want %d: %v", len(paths), len(wantPaths), paths)
	}
	for _, r := range reqs {
		if r.Path == "/doomed" && r.At.Before(deleted) {
			t.Errorf("the doomed batch went out at %s, before its action was deleted (%s): the test proves nothing",
				r.At.Format(time.StampMilli), deleted.Format(time.StampMilli))
		}
	}

	// Another tool writes an invalid version of signups: refused, counted,
	// and v2 keeps running.
	c.Produce(t, &kgo.Record{Topic: "hookstream.rules", Key: []byte("signups"),
		Value: []byte(`{"id":"signups","trigger":"type ==","url":"` + rv.URL + `/broken"}`)})
	for _, w := range []*worker{w1, w2} {
		waitMetric(t, w, "hookstream_rules_rejected_total", 1)
	}
	c.Produce(t, &kgo.Record{Topic: "events", Partition: 1, Value: trackEvent(20, "Signed Up")})
	reqs = rv.waitFor(t, "m-20", func(r []request) bool { return delivered(t, r)["m-20"] > 0 })
	for _, r := range reqs {
		if slices.Contains(ids(t, r.Body), "m-20") && r.Path != "/v2" {
			t.Errorf("m-20 went to %s after an invalid version was refused, want /v2", r.Path)
		}
	}
	for i, l := range []*kafkatest.SyncBuffer{logs1, logs2} {
		if !strings.Contains(l.String(), `"msg":"rule refused"`) || !strings.Contains(l.String(), `"running":"the previous version"`) {
			t.Errorf("worker %d did not log the refusal with what keeps running", i+1)
		}
	}
	for _, w := range []*worker{w1, w2} {
		if code := w.stop(t, syscall.SIGTERM); code != 0 {
			t.Errorf("exit code %d after SIGTERM, want 0", code)
		}
	}
}

func equalBatches(got, want [][]string) bool {
	return slices.EqualFunc(got, want, func(a, b []string) bool { return slices.Equal(a, b) })
}
