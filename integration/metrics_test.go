package integration

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hookstream/hookstream/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kgo"
)

// specMetric is a metric's Prometheus type and its labels, sorted.
// onFirst marks a counter of failures, which has series only from its first
// increment on (sink/series.go).
type specMetric struct {
	typ     string
	labels  []string
	onFirst bool
}

// specMetrics returns the metrics of SPEC §7. Dashboards and alerts query
// exactly these.
func specMetrics() map[string]specMetric {
	return map[string]specMetric{
		"hookstream_consumer_lag":               {"gauge", []string{"partition", "topic"}, false},
		"hookstream_events_consumed_total":      {"counter", []string{"topic"}, false},
		"hookstream_events_matched_total":       {"counter", []string{"action"}, false},
		"hookstream_events_delivered_total":     {"counter", []string{"action"}, false},
		"hookstream_events_dead_lettered_total": {"counter", []string{"action", "reason"}, false},
		"hookstream_deliveries_total":           {"counter", []string{"action", "code"}, false},
		"hookstream_delivery_duration_seconds":  {"histogram", []string{"action"}, false},
		"hookstream_batch_size":                 {"histogram", []string{"action"}, false},
		"hookstream_event_latency_seconds":      {"histogram", []string{"action"}, false},
		"hookstream_oldest_undelivered_seconds": {"gauge", []string{"action"}, false},
		"hookstream_events_parked_total":        {"counter", []string{"action"}, true},
		"hookstream_circuit_state":              {"gauge", []string{"action"}, false},
		"hookstream_rules_active":               {"gauge", nil, false},
		"hookstream_rules_rejected_total":       {"counter", nil, false},
		"hookstream_buffered_bytes":             {"gauge", nil, false},
	}
}

// sample is one series of a scrape.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// exposition is one scrape of /metrics: the samples and each family's type.
type exposition struct {
	types   map[string]string
	samples []sample
}

func tryScrape(w *worker) (exposition, error) {
	resp, err := http.Get("http://" + w.http + "/metrics")
	if err != nil {
		return exposition{}, err
	}
	defer resp.Body.Close()
	return parseExposition(resp.Body)
}

// parseExposition reads the Prometheus text format: enough of it for the
// exporter's output (no escaped quotes in label values, no timestamps).
func parseExposition(r io.Reader) (exposition, error) {
	e := exposition{types: map[string]string{}}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if f, ok := strings.CutPrefix(line, "# TYPE "); ok {
			name, typ, _ := strings.Cut(f, " ")
			e.types[name] = typ
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		series, val, ok := strings.Cut(line, " ")
		if i := strings.LastIndexByte(line, ' '); ok && strings.Contains(series, "{") {
			series, val = line[:i], line[i+1:]
		}
		v, err := strconv.ParseFloat(val, 64)
		if err != nil {
			return e, fmt.Errorf("line %q: %w", line, err)
		}
		s := sample{labels: map[string]string{}, value: v}
		name, rest, hasLabels := strings.Cut(series, "{")
		s.name = name
		if hasLabels {
			for _, kv := range strings.Split(strings.TrimSuffix(rest, "}"), ",") {
				k, v, _ := strings.Cut(kv, "=")
				s.labels[k] = strings.Trim(v, `"`)
			}
		}
		e.samples = append(e.samples, s)
	}
	return e, sc.Err()
}

// get returns the value of the series name with exactly these labels (in
// "k=v" form), and whether it exists.
func (e exposition) get(name string, labels ...string) (float64, bool) {
	for _, s := range e.samples {
		if s.name == name && matches(s.labels, labels) && len(s.labels) == len(labels) {
			return s.value, true
		}
	}
	return 0, false
}

func matches(have map[string]string, want []string) bool {
	for _, kv := range want {
		k, v, _ := strings.Cut(kv, "=")
		if have[k] != v {
			return false
		}
	}
	return true
}

// series returns every sample of name.
func (e exposition) series(name string) []sample {
	var out []sample
	for _, s := range e.samples {
		if s.name == name {
			out = append(out, s)
		}
	}
	return out
}

// sum adds the samples of name that have these labels.
func (e exposition) sum(name string, labels ...string) float64 {
	var v float64
	for _, s := range e.series(name) {
		if matches(s.labels, labels) {
			v += s.value
		}
	}
	return v
}

// waitScrape scrapes until cond holds. A separate process offers no event to
// await, so this polls.
func waitScrape(t *testing.T, w *worker, what string, cond func(exposition) bool) exposition {
	t.Helper()
	var e exposition
	kafkatest.Eventually(t, what, func() bool {
		w.alive(t, what)
		var err error
		e, err = tryScrape(w) // refused while the worker starts
		return err == nil && cond(e)
	})
	return e
}

// requestsTo counts the requests to path answered with a status of class
// (2 for 2xx, ...), and the events those requests carried.
func requestsTo(t *testing.T, reqs []request, path string, class int) (requests, events int) {
	t.Helper()
	for _, r := range reqs {
		if r.Path == path && r.Status/100 == class {
			requests++
			events += len(ids(t, r.Body))
		}
	}
	return requests, events
}

func TestMetricsAfterAKnownRun(t *testing.T) {
	const paid, refused, flaky = 30, 4, 3
	c := startCluster(t, 2, "events")
	var down atomic.Bool
	down.Store(true)
	rv := startReceiver(t, func(_ int, r *http.Request, _ []byte) (int, http.Header) {
		switch {
		case r.URL.Path == "/refused":
			return http.StatusBadRequest, nil
		case r.URL.Path == "/flaky" && down.Load():
			return http.StatusServiceUnavailable, nil
		}
		return http.StatusOK, nil
	})
	w := startWorker(t, c, "g-metrics", rulesFor(`actions:
- id: paid
  trigger: event == "Paid"
  url: URL/paid
  batch: {size: 10, wait: 50ms}
- id: flaky
  trigger: event == "Flaky"
  url: URL/flaky
  retry: {initial_backoff: 20ms, max_backoff: 50ms}
  breaker: {failures: 3, open_for: 300ms}
- id: refused
  trigger: event == "Refused"
  url: URL/refused
- id: off
  trigger: "true"
  url: URL/off
  enabled: false
`, rv.URL), nil, "--config", writeConfig(t, "commit_interval: 100ms\n"))

	var recs []*kgo.Record
	add := func(n int, name string, ts time.Time) {
		for range n {
			i := len(recs)
			recs = append(recs, &kgo.Record{Topic: "events", Partition: int32(i % 2), Value: trackEvent(i, name), Timestamp: ts})
		}
	}
	now := time.Now()
	add(paid, "Paid", now)
	add(refused, "Refused", now)
	add(flaky, "Flaky", now.Add(-time.Minute)) // an age the gauge cannot miss
	recs = append(recs, &kgo.Record{Topic: "events", Partition: 1, Value: []byte("not json")})
	c.Produce(t, recs...)

	// The outage: the breaker opens, the flaky events hold their
	// partitions' commits back, and they are the oldest undelivered.
	during := waitScrape(t, w, "the breaker to open with lag", func(e exposition) bool {
		open, _ := e.get("hookstream_circuit_state", "action=flaky")
		return open == 2 && e.sum("hookstream_consumer_lag") > 0
	})
	if age, _ := during.get("hookstream_oldest_undelivered_seconds", "action=flaky"); age < 60 {
		t.Errorf("oldest undelivered of flaky during the outage = %vs, want at least 60 (its records are a minute old)", age)
	}
	down.Store(false)

	rv.waitFor(t, "every paid and flaky event", allDelivered(t, paid+flaky))
	e := waitScrape(t, w, "lag 0, breaker closed, nothing pending", func(e exposition) bool {
		var lag []sample // of the source topic; the worker also consumes its retry topic
		for _, s := range e.series("hookstream_consumer_lag") {
			if s.labels["topic"] == "events" {
				lag = append(lag, s)
			}
		}
		closed, _ := e.get("hookstream_circuit_state", "action=flaky")
		pending, _ := e.get("hookstream_oldest_undelivered_seconds", "action=flaky")
		dead, _ := e.get("hookstream_events_dead_lettered_total", "action=refused", "reason=rejected")
		return len(lag) == 2 && e.sum("hookstream_consumer_lag") == 0 && closed == 0 && pending == 0 && dead == refused
	})
	reqs := rv.requests()

	t.Run("every SPEC metric with its type and labels", func(t *testing.T) {
		for name, want := range specMetrics() {
			if _, ok := e.types[name]; !ok && want.onFirst {
				continue
			}
			if e.types[name] != want.typ {
				t.Errorf("%s has type %q, want %s", name, e.types[name], want.typ)
			}
			suffixes := []string{""}
			if want.typ == "histogram" {
				suffixes = []string{"_bucket", "_sum", "_count"}
			}
			for _, sfx := range suffixes {
				ss := e.series(name + sfx)
				if len(ss) == 0 {
					t.Errorf("no series of %s%s", name, sfx)
				}
				for _, s := range ss {
					var got []string
					for k := range s.labels {
						if k != "le" || sfx != "_bucket" {
							got = append(got, k)
						}
					}
					slices.Sort(got)
					if !slices.Equal(got, want.labels) && !(name == "hookstream_events_dead_lettered_total" && s.labels["reason"] == "decode") {
						t.Errorf("%s%s has labels %v, want %v", name, sfx, got, want.labels)
					}
				}
			}
		}
		for name := range e.types {
			if _, ok := specMetrics()[name]; !ok && strings.HasPrefix(name, "hookstream_") && name != "hookstream_trigger_errors_total" {
				t.Errorf("metric %s is not in SPEC §7", name)
			}
		}
	})

	t.Run("values match the run", func(t *testing.T) {
		paidReqs, paidEvents := requestsTo(t, reqs, "/paid", 2)
		flakyOK, flakyEvents := requestsTo(t, reqs, "/flaky", 2)
		flaky5xx, _ := requestsTo(t, reqs, "/flaky", 5)
		refused4xx, _ := requestsTo(t, reqs, "/refused", 4)
		if flaky5xx < 3 {
			t.Fatalf("the receiver answered %d 503s, want at least the 3 that open the breaker", flaky5xx)
		}
		checks := []struct {
			series string
			labels []string
			want   float64
		}{
			{"hookstream_events_consumed_total", []string{"topic=events"}, float64(len(recs))},
			{"hookstream_events_matched_total", []string{"action=paid"}, paid},
			{"hookstream_events_matched_total", []string{"action=flaky"}, flaky},
			{"hookstream_events_matched_total", []string{"action=refused"}, refused},
			{"hookstream_events_matched_total", []string{"action=off"}, 0},
			{"hookstream_events_delivered_total", []string{"action=paid"}, float64(paidEvents)},
			{"hookstream_events_delivered_total", []string{"action=flaky"}, float64(flakyEvents)},
			{"hookstream_events_delivered_total", []string{"action=refused"}, 0},
			{"hookstream_events_dead_lettered_total", []string{"action=refused", "reason=rejected"}, refused},
			{"hookstream_deliveries_total", []string{"action=paid", "code=2xx"}, float64(paidReqs)},
			{"hookstream_deliveries_total", []string{"action=flaky", "code=2xx"}, float64(flakyOK)},
			{"hookstream_deliveries_total", []string{"action=flaky", "code=5xx"}, float64(flaky5xx)},
			{"hookstream_deliveries_total", []string{"action=refused", "code=4xx"}, float64(refused4xx)},
			{"hookstream_delivery_duration_seconds_count", []string{"action=paid"}, float64(paidReqs)},
			{"hookstream_delivery_duration_seconds_count", []string{"action=flaky"}, float64(flakyOK + flaky5xx)},
			{"hookstream_batch_size_count", []string{"action=paid"}, float64(paidReqs)},
			{"hookstream_batch_size_sum", []string{"action=paid"}, paid},
			{"hookstream_batch_size_sum", []string{"action=flaky"}, flaky},
			{"hookstream_event_latency_seconds_count", []string{"action=paid"}, paid},
			{"hookstream_event_latency_seconds_count", []string{"action=flaky"}, flaky},
			{"hookstream_circuit_state", []string{"action=flaky"}, 0},
			{"hookstream_oldest_undelivered_seconds", []string{"action=paid"}, 0},
			{"hookstream_consumer_lag", []string{"partition=0", "topic=events"}, 0},
			{"hookstream_consumer_lag", []string{"partition=1", "topic=events"}, 0},
			{"hookstream_rules_active", nil, 3},
			{"hookstream_rules_rejected_total", nil, 0},
		}
		for _, c := range checks {
			got, ok := e.get(c.series, c.labels...)
			if !ok || got != c.want {
				t.Errorf("%s%v = %v (present %v), want %v", c.series, c.labels, got, ok, c.want)
			}
		}
		// A disabled action never gets an event: it has its matched
		// counter at 0 and no series of the sink's. The counters of
		// failures that did not happen have no series either.
		for _, absent := range [][]string{
			{"hookstream_events_dead_lettered_total", "action=flaky", "reason=retries_exhausted"},
			{"hookstream_deliveries_total", "action=paid", "code=error"},
			{"hookstream_events_parked_total", "action=flaky"},
		} {
			if got, ok := e.get(absent[0], absent[1:]...); ok {
				t.Errorf("%s%v = %v: a failure that never happened has no series", absent[0], absent[1:], got)
			}
		}
		for _, series := range []string{"hookstream_circuit_state", "hookstream_events_delivered_total", "hookstream_events_parked_total"} {
			if got, ok := e.get(series, "action=off"); ok {
				t.Errorf("%s{action=off} = %v: an action without events has no such series", series, got)
			}
		}
		if paidEvents != paid || flakyEvents != flaky {
			t.Errorf("receiver got %d paid and %d flaky events, want %d and %d", paidEvents, flakyEvents, paid, flaky)
		}
		if got := e.sum("hookstream_events_dead_lettered_total", "reason=decode"); got != 1 {
			t.Errorf("dead letters with reason decode = %v, want the 1 poison record", got)
		}
		if sum, _ := e.get("hookstream_event_latency_seconds_sum", "action=flaky"); sum < 3*60 {
			t.Errorf("event latency sum of flaky = %vs, want at least 180 (three records a minute old)", sum)
		}
		if n, _ := e.get("hookstream_delivery_duration_seconds_bucket", "action=paid", "le=+Inf"); n != float64(paidReqs) {
			t.Errorf("delivery duration +Inf bucket of paid = %v, want %d", n, paidReqs)
		}
	})
}

func TestLagIsReportedByTheOwnerOnly(t *testing.T) {
	const parts = 4
	c := startCluster(t, parts, "events")
	rv := startReceiver(t, nil)
	rules := rulesFor("actions:\n- id: all\n  trigger: \"true\"\n  url: URL/all\n", rv.URL)
	for p := range parts {
		c.Produce(t, &kgo.Record{Topic: "events", Partition: int32(p), Value: trackEvent(p, "A")})
	}
	owned := func(e exposition) []string {
		var out []string
		for _, s := range e.series("hookstream_consumer_lag") {
			if s.labels["topic"] == "events" { // the retry topic has its own partitions
				out = append(out, s.labels["topic"]+"/"+s.labels["partition"])
			}
		}
		slices.Sort(out)
		return out
	}
	all := []string{"events/0", "events/1", "events/2", "events/3"}

	a := startWorker(t, c, "g-lag", rules, nil)
	waitScrape(t, a, "worker a to report every partition", func(e exposition) bool { return slices.Equal(owned(e), all) })

	b := startWorker(t, c, "g-lag", rules, nil)
	var pa, pb []string
	kafkatest.Eventually(t, "each partition's lag series from exactly one worker", func() bool {
		ea, errA := tryScrape(a)
		eb, errB := tryScrape(b)
		pa, pb = owned(ea), owned(eb)
		union := slices.Sorted(slices.Values(append(slices.Clone(pa), pb...)))
		return errA == nil && errB == nil && len(pa) > 0 && len(pb) > 0 && slices.Equal(union, all) // disjoint too: the union has no duplicate
	})

	if code := b.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("worker b exit code %d", code)
	}
	waitScrape(t, a, "worker a to take every partition back", func(e exposition) bool { return slices.Equal(owned(e), all) })
	rv.waitFor(t, "the events", allDelivered(t, parts))
}
