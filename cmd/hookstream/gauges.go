package main

import (
	"context"
	"errors"
	"strconv"

	"github.com/hookstream/hookstream/processor"
	"github.com/hookstream/hookstream/rules"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// gaugeSources are the parts whose state the gauges read when scraped.
type gaugeSources struct {
	partitions func() []processor.PartitionStatus
	breakers   func() map[string]int // action id → 0 closed, 1 half-open, 2 open
	store      *rules.Store
}

// registerGauges adds the gauges read at each scrape: hookstream_consumer_lag,
// hookstream_circuit_state and hookstream_rules_active. It returns a function
// that unregisters them.
func registerGauges(meter metric.Meter, src gaugeSources) (func() error, error) {
	lag, err1 := meter.Int64ObservableGauge("hookstream_consumer_lag",
		metric.WithDescription("Records of the partition not yet done: end offset minus the offset the next commit carries."))
	circuit, err2 := meter.Int64ObservableGauge("hookstream_circuit_state",
		metric.WithDescription("Circuit breaker state per action: 0 closed, 1 half-open, 2 open."))
	active, err3 := meter.Int64ObservableGauge("hookstream_rules_active",
		metric.WithDescription("Enabled actions."))
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, err
	}
	reg, err := meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		for _, p := range src.partitions() {
			if n, ok := partitionLag(p); ok {
				o.ObserveInt64(lag, n, metric.WithAttributeSet(attribute.NewSet(
					attribute.String("topic", p.Topic),
					attribute.String("partition", strconv.Itoa(int(p.Partition))))))
			}
		}
		for id, state := range src.breakers() {
			o.ObserveInt64(circuit, int64(state), metric.WithAttributeSet(attribute.NewSet(attribute.String("action", id))))
		}
		o.ObserveInt64(active, int64(src.store.Load().Enabled()))
		return nil
	}, lag, circuit, active)
	if err != nil {
		return nil, err
	}
	return reg.Unregister, nil
}

// partitionLag is the partition's end offset minus its committable offset.
// When no committable offset is known (nothing committed for the group and
// nothing done yet), the lag is known only when nothing is pending: the
// member then sits at the end (0). Before the first fetch answered, it is
// unknown.
func partitionLag(p processor.PartitionStatus) (int64, bool) {
	switch {
	case p.HighWatermark < 0:
		return 0, false
	case p.Committable >= 0:
		return max(0, p.HighWatermark-p.Committable), true
	case p.Pending == 0:
		return 0, true
	default:
		return 0, false
	}
}
