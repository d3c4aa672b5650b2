package worker

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/hookstream/hookstream/internal/telemetry"
	"github.com/hookstream/hookstream/rules"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// registerGauges adds the gauges read at each scrape:
// hookstream_consumer_lag, hookstream_circuit_state,
// hookstream_oldest_undelivered_seconds, hookstream_rules_active and
// hookstream_buffered_bytes. It returns a function that unregisters them.
//
// hookstream_consumer_lag covers only the partitions this member owns now:
// a revoked partition is no longer observed, so its series disappears at the
// next scrape and the sum over all workers counts each partition once.
// hookstream_circuit_state and hookstream_oldest_undelivered_seconds have a
// series for every action the sink is delivering for (it has a breaker) or
// that has events pending, including one removed from the rules; an action
// without events lately has neither (see zeroSeries for why).
//
// metrics and topics, when set, get a zero series per action (and per
// topic) the first time a scrape sees it; see zeroSeries.
func registerGauges(meter metric.Meter, src sources, metrics *telemetry.Metrics, topics []string) (func() error, error) {
	lag, err1 := meter.Int64ObservableGauge("hookstream_consumer_lag",
		metric.WithDescription("Records of the partition not yet done: end offset minus the offset the next commit carries."))
	circuit, err2 := meter.Int64ObservableGauge("hookstream_circuit_state",
		metric.WithDescription("Circuit breaker state per action: 0 closed, 1 half-open, 2 open."))
	active, err3 := meter.Int64ObservableGauge("hookstream_rules_active",
		metric.WithDescription("Enabled actions."))
	oldest, err4 := meter.Float64ObservableGauge("hookstream_oldest_undelivered_seconds",
		metric.WithDescription("Age of the oldest event not yet delivered or dead-lettered, per action, from its record timestamp."))
	buffered, err5 := meter.Int64ObservableGauge("hookstream_buffered_bytes",
		metric.WithDescription("Bytes of the values of the records fetched and not yet done (max_buffered_bytes bounds them)."),
		metric.WithUnit("By"))
	if err := errors.Join(err1, err2, err3, err4, err5); err != nil {
		return nil, err
	}
	now := src.now
	if now == nil {
		now = time.Now
	}
	zero := &zeroSeries{metrics: metrics, topics: topics, seen: map[string]bool{}}
	reg, err := meter.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		for _, p := range src.partitions() {
			if n, ok := p.Lag(); ok {
				o.ObserveInt64(lag, n, metric.WithAttributeSet(attribute.NewSet(
					attribute.String("topic", p.Topic),
					attribute.String("partition", strconv.Itoa(int(p.Partition))))))
			}
		}
		set := src.store.Load()
		zero.add(ctx, set)
		states, pending := src.breakers(), src.oldest()
		t := now()
		for _, id := range actionIDs(states, pending) {
			o.ObserveInt64(circuit, int64(states[id]), telemetry.Action(id))
			age := 0.0
			if ts, ok := pending[id]; ok {
				age = max(0, t.Sub(ts).Seconds())
			}
			o.ObserveFloat64(oldest, age, telemetry.Action(id))
		}
		o.ObserveInt64(active, int64(set.Enabled()))
		if src.inHand != nil {
			o.ObserveInt64(buffered, src.inHand().Bytes)
		}
		return nil
	}, lag, circuit, active, oldest, buffered)
	if err != nil {
		return nil, err
	}
	return reg.Unregister, nil
}

// actionIDs returns the ids of the actions with a breaker or events
// pending, sorted.
func actionIDs(states map[string]int, pending map[string]time.Time) []string {
	ids := make([]string, 0, len(states)+len(pending))
	for id := range states {
		ids = append(ids, id)
	}
	for id := range pending {
		if _, ok := states[id]; !ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// zeroSeries starts hookstream_events_matched_total of every action at 0,
// and the consumed counter of every topic: Prometheus users expect a series
// to exist before its first event, so that rate() and increase() see the
// first increment and panels show 0 instead of "no data". Adding 0 to an
// OpenTelemetry counter creates the series without changing its value.
//
// One series per action, not all of them: a rules topic may hold tens of
// thousands of actions, most of them idle at any moment, and the dozen
// zero series of each (delivered, parked, dead-lettered by reason,
// deliveries by code, breaker, oldest event) would make every scrape
// megabytes of zeros. The sink starts an action's other counters at 0 when
// it takes the action's first event (sink/series.go), before its first
// delivery, so those too see their first increment.
type zeroSeries struct {
	metrics *telemetry.Metrics
	topics  []string

	mu   sync.Mutex // scrapes may run at once
	seen map[string]bool
}

func (z *zeroSeries) add(ctx context.Context, set *rules.Set) {
	if z.metrics == nil {
		return
	}
	z.mu.Lock()
	defer z.mu.Unlock()
	m := z.metrics
	if !z.seen[""] {
		z.seen[""] = true
		for _, topic := range z.topics {
			m.EventsConsumed.Add(ctx, 0, metric.WithAttributeSet(attribute.NewSet(attribute.String("topic", topic))))
		}
		m.RulesRejected.Add(ctx, 0)
	}
	for _, a := range set.Actions {
		if !z.seen[a.ID] {
			z.seen[a.ID] = true
			m.EventsMatched.Add(ctx, 0, telemetry.Action(a.ID))
		}
	}
}
