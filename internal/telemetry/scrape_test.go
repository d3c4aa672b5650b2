package telemetry

import (
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/prometheus/common/expfmt"
	"go.opentelemetry.io/otel/trace"
)

// BenchmarkScrape10000Actions gathers and encodes /metrics for 10,000
// actions that each delivered one event, as the sink records them.
func BenchmarkScrape10000Actions(b *testing.B) {
	prov, m := newTestMetrics(b)
	ctx := context.Background()
	for i := range 10000 {
		at := Action(fmt.Sprintf("action-%d", i))
		m.EventsMatched.Add(ctx, 1, at)
		m.EventsDelivered.Add(ctx, 1, at)
		m.Deliveries.Add(ctx, 1, code(fmt.Sprintf("action-%d", i), "2xx"))
		m.DeliveryDuration.Record(ctx, 0.1, at)
		m.BatchSize.Record(ctx, 1, at)
		m.EventLatency.Record(ctx, 0.5, at)
	}
	b.ReportAllocs()
	for b.Loop() {
		fams, err := prov.Registry.Gather()
		if err != nil {
			b.Fatal(err)
		}
		enc := expfmt.NewEncoder(io.Discard, expfmt.NewFormat(expfmt.TypeTextPlain))
		for _, f := range fams {
			if err := enc.Encode(f); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// TestExemplarsOnlyWhenAskedFor: a delivery recorded inside a sampled span
// leaves no exemplar by default, and one with
// OTEL_METRICS_EXEMPLAR_FILTER=trace_based.
func TestExemplarsOnlyWhenAskedFor(t *testing.T) {
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1}, TraceFlags: trace.FlagsSampled})
	ctx := trace.ContextWithSpanContext(context.Background(), sc)
	exemplars := func() int {
		prov, m := newTestMetrics(t)
		m.DeliveryDuration.Record(ctx, 0.1, Action("a"))
		fams, err := prov.Registry.Gather()
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, f := range fams {
			for _, s := range f.GetMetric() {
				for _, b := range s.GetHistogram().GetBucket() {
					if b.GetExemplar() != nil {
						n++
					}
				}
			}
		}
		return n
	}
	if n := exemplars(); n != 0 {
		t.Errorf("%d exemplars by default, want none", n)
	}
	t.Setenv("OTEL_METRICS_EXEMPLAR_FILTER", "trace_based")
	if n := exemplars(); n != 1 {
		t.Errorf("%d exemplars with trace_based, want 1", n)
	}
}
