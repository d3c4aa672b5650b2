package telemetry

import (
	"context"
	"maps"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// TestReadingsHaveEveryRequestClass: an action with only 2xx requests reads
// 0 for the classes that have no series.
func TestReadingsHaveEveryRequestClass(t *testing.T) {
	prov, m := newTestMetrics(t)
	m.Deliveries.Add(context.Background(), 3, code("a", "2xx"))
	got := prov.Read().Action("a").Requests
	want := map[string]float64{"2xx": 3, "4xx": 0, "5xx": 0, "error": 0}
	if !maps.Equal(got, want) {
		t.Errorf("requests %v, want %v", got, want)
	}
	if got := prov.Read().Action("none").Requests; len(got) != 0 {
		t.Errorf("requests of an action without any: %v, want none", got)
	}
}

// newTestMetrics returns a Prometheus provider with the instruments on it,
// shut down when the test ends.
func newTestMetrics(tb testing.TB) (*Provider, *Metrics) {
	tb.Helper()
	prov, m, err := NewPrometheusMetrics()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = prov.Shutdown(context.Background()) })
	return prov, m
}

// code is the attribute set of an action's requests of one status class.
func code(action, class string) metric.MeasurementOption {
	return metric.WithAttributeSet(attribute.NewSet(attribute.String("action", action), attribute.String("code", class)))
}
