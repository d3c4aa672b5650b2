package sink

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/hookstream/hookstream/internal/telemetry"
	"github.com/prometheus/client_golang/prometheus"
)

// gather returns every counter series of reg, as `name{labels}` → value.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			if m.GetCounter() == nil {
				continue // a histogram: batch_size is recorded as a request starts
			}
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			out[f.GetName()+"{"+strings.Join(labels, ",")+"}"] = m.GetCounter().GetValue()
		}
	}
	return out
}

// TestSeriesStartWithTheFirstEvent: an action's throughput counters appear,
// at 0, when the sink takes its first event, before anything is delivered;
// an action without events has none, and the counters of failures wait for
// their first increment.
func TestSeriesStartWithTheFirstEvent(t *testing.T) {
	prov, m, err := telemetry.NewPrometheusMetrics()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = prov.Shutdown(context.Background()) })
	release := make(chan struct{})
	rc := newReceiver(t, func(seen) answer { <-release; return answer{status: 200} })
	t.Cleanup(func() { close(release) }) // before the receiver closes
	s := newSink(t, Config{Metrics: m})

	if got := gather(t, prov.Registry); len(got) != 0 {
		t.Fatalf("series before any event: %v", got)
	}
	d := newDones()
	send(t, s, testAction("a", nil), rc.URL, 1, d)
	got := gather(t, prov.Registry)
	want := []string{
		`hookstream_deliveries_total{action="a",code="2xx"}`,
		`hookstream_events_delivered_total{action="a"}`,
	}
	keys := make([]string, 0, len(got))
	for k, v := range got {
		keys = append(keys, k)
		if v != 0 {
			t.Errorf("%s = %v before the first delivery, want 0", k, v)
		}
	}
	slices.Sort(keys)
	if !slices.Equal(keys, want) {
		t.Fatalf("series after the first event:\n%s\nwant:\n%s", strings.Join(keys, "\n"), strings.Join(want, "\n"))
	}
	release <- struct{}{}
	d.wait(t, 1)
	if v := gather(t, prov.Registry)[`hookstream_events_delivered_total{action="a"}`]; v != 1 {
		t.Errorf("delivered = %v after the delivery, want 1", v)
	}
}
