package sink

import (
	"context"

	"github.com/hookstream/hookstream/internal/deadletter"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// startSeries starts an action's delivery counters at 0 when the sink takes
// its first event: hookstream_events_delivered_total,
// hookstream_events_parked_total, hookstream_events_dead_lettered_total for
// each reason that belongs to an action, and hookstream_deliveries_total
// for each code. The series then exist before the first delivery, so
// rate() and increase() see its increment, while an action that never had
// an event adds none of them to /metrics (a rules topic may hold tens of
// thousands). Adding 0 creates a series without changing its value, so an
// action whose runner comes back after retiring loses nothing.
func (s *Sink) startSeries(id string, at actionAttrs) {
	ctx := context.Background()
	m := s.metrics
	m.EventsDelivered.Add(ctx, 0, at.action)
	m.EventsParked.Add(ctx, 0, at.action)
	for _, reason := range []deadletter.Reason{deadletter.ReasonRejected, deadletter.ReasonRetriesExhausted, deadletter.ReasonMapping} {
		m.EventsDeadLettered.Add(ctx, 0, metric.WithAttributeSet(attribute.NewSet(
			attribute.String("action", id), attribute.String("reason", string(reason)))))
	}
	for _, code := range []string{"2xx", "4xx", "5xx", "error"} {
		m.Deliveries.Add(ctx, 0, at.codes[code])
	}
}
