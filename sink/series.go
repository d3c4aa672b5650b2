package sink

import (
	"context"
)

// startSeries starts the two counters whose rate is an action's throughput
// at 0 when the sink takes its first event:
// hookstream_events_delivered_total and hookstream_deliveries_total with
// code 2xx. They then exist before the first delivery, so rate() and
// increase() see its increment, while an action that never had an event
// adds neither to /metrics (a rules topic may hold tens of thousands).
//
// The counters of what goes wrong (deliveries with code 4xx, 5xx or error,
// hookstream_events_parked_total, hookstream_events_dead_lettered_total by
// reason) appear with their first increment instead: at 0 they would be
// seven series for every action that delivered, most of them never moving,
// and the alerts and dashboard of deploy/ count a series that is new in
// their window (`x unless x offset 10m or increase(x[10m])`, `or 0 *`), so
// they miss nothing. Adding 0 creates a series without changing its value,
// so an action whose runner comes back after retiring loses nothing.
func (s *Sink) startSeries(at actionAttrs) {
	ctx := context.Background()
	s.metrics.EventsDelivered.Add(ctx, 0, at.action)
	s.metrics.Deliveries.Add(ctx, 0, at.codes["2xx"])
}
