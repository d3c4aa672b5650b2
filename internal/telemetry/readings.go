package telemetry

import (
	dto "github.com/prometheus/client_model/go"
)

// Readings are the counters and histograms of Metrics as they stand, typed:
// what the status page shows. Counters are totals since the provider
// started.
type Readings struct {
	Consumed float64 // over every topic
	Actions  map[string]ActionReadings
}

// ActionReadings are one action's counters and histograms.
type ActionReadings struct {
	Matched, Delivered, DeadLettered, Parked float64
	// Requests counts delivery requests by status class: 2xx, 4xx, 5xx,
	// error, all four once the action has requests' series.
	Requests  map[string]float64
	BatchSize Histogram // events per request
	Duration  Histogram // one request, in seconds
	Latency   Histogram // record timestamp to delivered, in seconds
}

// Histogram is a histogram's cumulative state: Counts[i] observations at
// most Bounds[i], Count in all (the +Inf bucket).
type Histogram struct {
	Bounds []float64 `json:"bounds"`
	Counts []uint64  `json:"counts"`
	Count  uint64    `json:"count"`
	Sum    float64   `json:"sum"`
}

// Action returns one action's readings, zero (with empty, non-nil maps
// and slices) when it has recorded nothing.
func (r Readings) Action(id string) ActionReadings {
	if a, ok := r.Actions[id]; ok {
		return a
	}
	return ActionReadings{Requests: map[string]float64{}, BatchSize: emptyHistogram(),
		Duration: emptyHistogram(), Latency: emptyHistogram()}
}

func emptyHistogram() Histogram { return Histogram{Bounds: []float64{}, Counts: []uint64{}} }

// Read returns the readings of the instruments created by New on p's
// meters. They are gathered from the same registry /metrics serves, so
// the two always agree; a partial gathering still gives what it has.
func (p *Provider) Read() Readings {
	fams, _ := p.Registry.Gather()
	r := Readings{Actions: map[string]ActionReadings{}}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			if f.GetName() == NameEventsConsumed {
				r.Consumed += m.GetCounter().GetValue()
				continue
			}
			id, ok := label(m, "action")
			if !ok {
				continue
			}
			a := r.Action(id)
			switch f.GetName() {
			case NameEventsMatched:
				a.Matched += m.GetCounter().GetValue()
			case NameEventsDelivered:
				a.Delivered += m.GetCounter().GetValue()
			case NameEventsDeadLettered:
				a.DeadLettered += m.GetCounter().GetValue()
			case NameEventsParked:
				a.Parked += m.GetCounter().GetValue()
			case NameDeliveries:
				if len(a.Requests) == 0 {
					// Classes that never happened have no series
					// (they appear with their first request) but
					// read as 0, so scripts find all four.
					for _, c := range []string{"2xx", "4xx", "5xx", "error"} {
						a.Requests[c] = 0
					}
				}
				code, _ := label(m, "code")
				a.Requests[code] += m.GetCounter().GetValue()
			case NameBatchSize:
				a.BatchSize.add(m.GetHistogram())
			case NameDeliveryDuration:
				a.Duration.add(m.GetHistogram())
			case NameEventLatency:
				a.Latency.add(m.GetHistogram())
			default:
				continue
			}
			r.Actions[id] = a
		}
	}
	return r
}

func label(m *dto.Metric, name string) (string, bool) {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue(), true
		}
	}
	return "", false
}

// add adds one series of a Prometheus histogram.
func (h *Histogram) add(ph *dto.Histogram) {
	h.Count += ph.GetSampleCount()
	h.Sum += ph.GetSampleSum()
	for i, b := range ph.GetBucket() {
		if i == len(h.Bounds) {
			h.Bounds = append(h.Bounds, b.GetUpperBound())
			h.Counts = append(h.Counts, 0)
		}
		h.Counts[i] += b.GetCumulativeCount()
	}
}
