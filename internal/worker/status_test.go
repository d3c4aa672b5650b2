package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookstream/hookstream/internal/telemetry"
	"github.com/hookstream/hookstream/processor"
	"github.com/hookstream/hookstream/rules"
	"github.com/prometheus/client_golang/prometheus"
)

// fakeWorker is the state the gauges and the status page read, changed by
// the test between scrapes.
type fakeWorker struct {
	mu       sync.Mutex
	parts    []processor.PartitionStatus
	breakers map[string]int
	oldest   map[string]time.Time
}

func (f *fakeWorker) partitions() []processor.PartitionStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]processor.PartitionStatus(nil), f.parts...)
}

func (f *fakeWorker) states() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.breakers
}

func (f *fakeWorker) pending() map[string]time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.oldest
}

// held is what the worker holds against its bounds: fixed.
func (f *fakeWorker) held() processor.InHand {
	return processor.InHand{Events: 30, MaxEvents: 100_000, Bytes: 12_345, MaxBytes: 256 << 20, PeakBytes: 23_456}
}

func (f *fakeWorker) set(parts []processor.PartitionStatus, breakers map[string]int, oldest map[string]time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.parts, f.breakers, f.oldest = parts, breakers, oldest
}

// testStatus returns a status over f with two actions (one disabled), its
// metrics and their Prometheus registry, gauges registered.
func testStatus(t *testing.T, f *fakeWorker, now time.Time) (*status, *telemetry.Metrics, *prometheus.Registry) {
	t.Helper()
	set, err := rules.LoadYAML([]byte(`actions:
- id: signups
  trigger: event == "Signed Up"
  url: https://crm.example/hooks/{{ userId }}?token=abc
  batch: {size: 100, wait: 1s}
- id: pages
  trigger: type == "page"
  url: https://pages.example/in
  enabled: false
`), "rules.yaml", rules.Options{})
	if err != nil {
		t.Fatal(err)
	}
	prov, m, err := telemetry.NewPrometheusMetrics()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = prov.Shutdown(context.Background()) })
	store := &rules.Store{}
	store.Swap(set)
	src := sources{
		partitions: f.partitions, breakers: f.states, oldest: f.pending, inHand: f.held, store: store,
		readings: prov.Read, ready: func() error { return nil }, now: func() time.Time { return now },
	}
	unregister, err := registerGauges(prov.Meter("hookstream"), src, m, []string{"events"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unregister() })
	st := &status{
		version: "dev", started: now.Add(-time.Minute), brokers: []string{"127.0.0.1:9092"}, topics: []string{"events"},
		group: "g", source: "file rules.yaml", src: src,
	}
	return st, m, prov.Registry
}

func TestGaugesFollowTheWorker(t *testing.T) {
	now := time.Now()
	f := &fakeWorker{}
	_, _, reg := testStatus(t, f, now)
	steps := []struct {
		name     string
		parts    []processor.PartitionStatus
		breakers map[string]int
		oldest   map[string]time.Time
		want     string // exact lines of the gauges, in exposition order
	}{
		{
			name: "owns two partitions, one action failing",
			parts: []processor.PartitionStatus{
				{Topic: "events", Partition: 0, HighWatermark: 50, Committable: 20, Pending: 30},
				{Topic: "events", Partition: 1, HighWatermark: 10, Committable: 10},
				{Topic: "events", Partition: 2, HighWatermark: -1, Committable: -1}, // no fetch yet: no series
			},
			breakers: map[string]int{"signups": 2},
			oldest:   map[string]time.Time{"signups": now.Add(-90 * time.Second)},
			want: `hookstream_circuit_state{action="signups"} 2
hookstream_consumer_lag{partition="0",topic="events"} 30
hookstream_consumer_lag{partition="1",topic="events"} 0
hookstream_oldest_undelivered_seconds{action="signups"} 90
hookstream_rules_active 1
`,
		},
		{
			name:     "partition 0 revoked, recovered; a removed action still has events pending",
			parts:    []processor.PartitionStatus{{Topic: "events", Partition: 1, HighWatermark: 12, Committable: 12}},
			breakers: map[string]int{"signups": 1},
			oldest:   map[string]time.Time{"gone": now.Add(-2 * time.Second)},
			want: `hookstream_circuit_state{action="gone"} 0
hookstream_circuit_state{action="signups"} 1
hookstream_consumer_lag{partition="1",topic="events"} 0
hookstream_oldest_undelivered_seconds{action="gone"} 2
hookstream_oldest_undelivered_seconds{action="signups"} 0
hookstream_rules_active 1
`,
		},
		{
			// An action without a breaker or pending events (idle, or
			// never matched) has no series of either gauge.
			name:  "every action idle",
			parts: []processor.PartitionStatus{{Topic: "events", Partition: 1, HighWatermark: 12, Committable: 12}},
			want: `hookstream_consumer_lag{partition="1",topic="events"} 0
hookstream_rules_active 1
`,
		},
	}
	if got, want := scrape(t, reg, "hookstream_buffered_bytes"), "hookstream_buffered_bytes 12345\n"; got != want {
		t.Errorf("bytes in hand gauge %q, want %q", got, want)
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			f.set(s.parts, s.breakers, s.oldest)
			got := scrape(t, reg, "hookstream_circuit_state", "hookstream_consumer_lag",
				"hookstream_oldest_undelivered_seconds", "hookstream_rules_active")
			if got != s.want {
				t.Errorf("gauges:\n%s\nwant:\n%s", got, s.want)
			}
		})
	}
}

// TestCountersStartAtZero: the first scrape has every topic's consumed
// counter and every action's matched counter at 0, and nothing else per
// action: the sink starts the delivery counters of an action when it takes
// its first event (sink's TestSeriesStartWithTheFirstEvent).
func TestCountersStartAtZero(t *testing.T) {
	_, m, reg := testStatus(t, &fakeWorker{}, time.Now())
	got := scrape(t, reg, "hookstream_events_consumed_total", "hookstream_events_matched_total", "hookstream_events_parked_total",
		"hookstream_events_dead_lettered_total", "hookstream_deliveries_total", "hookstream_rules_rejected_total")
	want := `hookstream_events_consumed_total{topic="events"} 0
hookstream_events_matched_total{action="pages"} 0
hookstream_events_matched_total{action="signups"} 0
hookstream_rules_rejected_total 0
`
	if got != want {
		t.Errorf("first scrape:\n%s\nwant:\n%s", got, want)
	}
	// Starting at zero does not reset what was counted.
	m.EventsDelivered.Add(context.Background(), 7, telemetry.Action("signups"))
	scrape(t, reg, "hookstream_events_delivered_total")
	if got := scrape(t, reg, "hookstream_events_delivered_total"); !strings.Contains(got, `hookstream_events_delivered_total{action="signups"} 7`) {
		t.Errorf("delivered after two scrapes:\n%s", got)
	}
}

// scrape gathers the registry once and returns the series of the named
// counters and gauges as exposition lines, sorted.
func scrape(t *testing.T, reg *prometheus.Registry, names ...string) string {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, f := range families {
		if !slices.Contains(names, f.GetName()) {
			continue
		}
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			series := f.GetName()
			if len(labels) > 0 {
				series += "{" + strings.Join(labels, ",") + "}"
			}
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			lines = append(lines, series+" "+strconv.FormatFloat(v, 'g', -1, 64)+"\n")
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "")
}

func TestStatusPage(t *testing.T) {
	now := time.Now()
	f := &fakeWorker{}
	f.set([]processor.PartitionStatus{
		{Topic: "events", Partition: 0, HighWatermark: 50, Committable: 20, Pending: 30, Oldest: now.Add(-3 * time.Second)},
		{Topic: "events", Partition: 1, HighWatermark: -1, Committable: -1},
	}, map[string]int{"signups": 2}, map[string]time.Time{"signups": now.Add(-3 * time.Second)})
	st, m, reg := testStatus(t, f, now)
	m.EventsDelivered.Add(context.Background(), 5, telemetry.Action("signups"))
	m.DeliveryDuration.Record(context.Background(), 0.02, telemetry.Action("signups"))
	srv := httptest.NewServer(handler(st, reg))
	t.Cleanup(srv.Close)

	page, hdr := get(t, srv.URL+"/", "text/html; charset=utf-8")
	if csp := hdr.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "connect-src 'self'") {
		t.Errorf("Content-Security-Policy %q does not hold the page to its own origin", csp)
	}
	if strings.Contains(page, "token=abc") {
		t.Error("status page shows the URL's query, which may hold a token")
	}
	if refs := regexp.MustCompile(`(?:src|href)="(?:https?:)?//`).FindAllString(page, -1); len(refs) > 0 {
		t.Errorf("status page loads from elsewhere: %v", refs)
	}
	island := regexp.MustCompile(`(?s)<script type="application/json" id="initial">(.*?)</script>`).FindStringSubmatch(page)
	if island == nil {
		t.Fatalf("status page has no initial snapshot:\n%s", page)
	}
	var first Status
	if err := json.Unmarshal([]byte(island[1]), &first); err != nil {
		t.Fatalf("initial snapshot is not JSON: %v\n%s", err, island[1])
	}

	body, _ := get(t, srv.URL+"/status.json", "application/json")
	var s Status
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatal(err)
	}
	for _, snap := range []Status{first, s} {
		if len(snap.Partitions) != 2 || snap.Lag != 30 || snap.Partitions[0].Lag == nil || *snap.Partitions[0].Lag != 30 || snap.Partitions[1].Lag != nil {
			t.Errorf("partitions %+v with lag %d, want events/0 at 30 and events/1 unknown", snap.Partitions, snap.Lag)
		}
		if len(snap.Actions) != 2 || snap.Actions[0].ID != "pages" || snap.Actions[0].Enabled {
			t.Fatalf("actions %+v, want pages (disabled) and signups", snap.Actions)
		}
		if h := snap.InHand; h != (InHandInfo{Events: 30, MaxEvents: 100_000, Bytes: 12_345, MaxBytes: 256 << 20, PeakBytes: 23_456}) {
			t.Errorf("in hand %+v, want the processor's", h)
		}
		a := snap.Actions[1]
		if a.Delivered != 5 || a.Circuit != 2 || a.OldestPending < 3 || a.URL != "https://crm.example/hooks/{{ userId }}" ||
			a.Duration.Count != 1 || len(a.Duration.Bounds) == 0 || a.Batch != "up to 100, wait 1s" {
			t.Errorf("signups %+v", a)
		}
	}
	js, _ := get(t, srv.URL+"/status.js", "text/javascript; charset=utf-8")
	if !strings.Contains(js, "/status.json") {
		t.Error("status.js does not fetch /status.json")
	}
	get(t, srv.URL+"/status.css", "text/css; charset=utf-8")
}

func TestReadyz(t *testing.T) {
	st, _, reg := testStatus(t, &fakeWorker{}, time.Now())
	var notReady error
	st.src.ready = func() error { return notReady }
	srv := httptest.NewServer(handler(st, reg))
	t.Cleanup(srv.Close)
	for _, c := range []struct {
		name   string
		err    error
		path   string
		status int
	}{
		{"ready", nil, "/readyz", http.StatusOK},
		{"starting", errors.New("not consuming yet"), "/readyz", http.StatusServiceUnavailable},
		{"alive while starting", errors.New("not consuming yet"), "/healthz", http.StatusOK},
	} {
		t.Run(c.name, func(t *testing.T) {
			notReady = c.err
			resp, err := http.Get(srv.URL + c.path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.status || (c.err != nil && c.path == "/readyz" && !strings.Contains(string(body), c.err.Error())) {
				t.Errorf("GET %s = %d %q, want %d with the reason", c.path, resp.StatusCode, body, c.status)
			}
		})
	}
}

// get fetches url, checks its status (200) and Content-Type, and returns
// the body and headers.
func get(t *testing.T, url, ctype string) (string, http.Header) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != ctype {
		t.Fatalf("GET %s: %d %s, want 200 %s", url, resp.StatusCode, resp.Header.Get("Content-Type"), ctype)
	}
	return string(body), resp.Header
}
