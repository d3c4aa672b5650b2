package telemetry

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/otlptranslator"
	"go.opentelemetry.io/otel/attribute"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/exemplar"
)

// Names of the instruments that the status page reads back (readings.go).
const (
	NameEventsConsumed     = "hookstream_events_consumed_total"
	NameEventsMatched      = "hookstream_events_matched_total"
	NameEventsDelivered    = "hookstream_events_delivered_total"
	NameEventsDeadLettered = "hookstream_events_dead_lettered_total"
	NameEventsParked       = "hookstream_events_parked_total"
	NameDeliveries         = "hookstream_deliveries_total"
	NameDeliveryDuration   = "hookstream_delivery_duration_seconds"
	NameBatchSize          = "hookstream_batch_size"
	NameEventLatency       = "hookstream_event_latency_seconds"
)

// Bucket boundaries of the three per-action histograms. Every bucket is a
// series for every action that delivered (10,000 actions are 10,000 times
// each list plus three), so each list holds only the bounds a panel or a
// quantile needs for what it measures; histogram_quantile interpolates
// between them.
var (
	// durationBounds: one delivery request, 5 ms to the 30 s an endpoint
	// may take at most (timeout, default 10 s).
	durationBounds = []float64{0.005, 0.025, 0.1, 0.25, 0.5, 1, 5, 30}
	// batchSizeBounds: events per request, 1 to batch.size's 1000.
	batchSizeBounds = []float64{1, 10, 50, 100, 500, 1000}
	// latencyBounds: record timestamp to delivered, 50 ms to an hour
	// (retry.max_duration's default); batch.wait (default 1 s) puts most
	// of a batched action's events between 0.25 s and 2.5 s.
	latencyBounds = []float64{0.05, 0.25, 1, 2.5, 10, 60, 300, 3600}
)

// Metrics holds every instrument named in the product contract. The names are
// exactly the Prometheus names users' dashboards query.
type Metrics struct {
	Meter metric.Meter

	EventsConsumed     metric.Int64Counter     // topic
	EventsMatched      metric.Int64Counter     // action
	EventsDelivered    metric.Int64Counter     // action
	EventsDeadLettered metric.Int64Counter     // action, reason
	EventsParked       metric.Int64Counter     // action
	Deliveries         metric.Int64Counter     // action, code
	DeliveryDuration   metric.Float64Histogram // action
	BatchSize          metric.Int64Histogram   // action
	EventLatency       metric.Float64Histogram // action
	RulesRejected      metric.Int64Counter
	TriggerErrors      metric.Int64Counter   // action
	RateLimitWait      metric.Float64Counter // action
	AuthTokenFetches   metric.Int64Counter   // action, result
}

// New creates the instruments on meter.
func New(meter metric.Meter) (*Metrics, error) {
	m := &Metrics{Meter: meter}
	var errs []error
	counter := func(name, desc string) metric.Int64Counter {
		c, err := meter.Int64Counter(name, metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	m.EventsConsumed = counter(NameEventsConsumed, "Source records read, by topic.")
	m.EventsMatched = counter(NameEventsMatched, "Events whose trigger matched, by action.")
	m.EventsDelivered = counter(NameEventsDelivered, "Events delivered with a 2xx answer, by action.")
	m.EventsDeadLettered = counter(NameEventsDeadLettered, "Events written to the dead-letter topic, by action and reason.")
	m.EventsParked = counter(NameEventsParked, "Events written to the retry topic, by action.")
	m.Deliveries = counter(NameDeliveries, "Delivery requests, by action and status class.")
	m.RulesRejected = counter("hookstream_rules_rejected_total", "Invalid actions refused from the rules topic.")
	m.TriggerErrors = counter("hookstream_trigger_errors_total", "Trigger evaluations that failed at run time, by action.")

	m.AuthTokenFetches = counter("hookstream_auth_token_fetches_total", "OAuth2 access token requests, by action and result (ok, error).")

	var err error
	m.RateLimitWait, err = meter.Float64Counter("hookstream_rate_limit_wait_seconds_total",
		metric.WithDescription("Time delivery requests waited on the action's rate_limit."))
	errs = append(errs, err)
	m.DeliveryDuration, err = meter.Float64Histogram(NameDeliveryDuration,
		metric.WithDescription("Time of one delivery request."),
		metric.WithExplicitBucketBoundaries(durationBounds...))
	errs = append(errs, err)
	m.BatchSize, err = meter.Int64Histogram(NameBatchSize,
		metric.WithDescription("Events per delivery request."),
		metric.WithExplicitBucketBoundaries(batchSizeBounds...))
	errs = append(errs, err)
	m.EventLatency, err = meter.Float64Histogram(NameEventLatency,
		metric.WithDescription("From the record's timestamp to its delivery."),
		metric.WithExplicitBucketBoundaries(latencyBounds...))
	errs = append(errs, err)
	return m, errors.Join(errs...)
}

// Noop returns instruments that record nothing, for tests and tools.
func Noop() *Metrics {
	m, _ := New(noop.NewMeterProvider().Meter("hookstream"))
	return m
}

// Action returns the attribute set for an action label.
func Action(id string) metric.MeasurementOption {
	return metric.WithAttributeSet(attribute.NewSet(attribute.String("action", id)))
}

// Provider is a meter provider whose readings are served by Registry.
type Provider struct {
	*sdkmetric.MeterProvider
	Registry *prometheus.Registry
}

// NewPrometheus builds a meter provider exporting to a fresh Prometheus
// registry, with metric names kept exactly as created.
func NewPrometheus() (*Provider, error) {
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(
		otelprom.WithRegisterer(reg),
		otelprom.WithTranslationStrategy(otlptranslator.UnderscoreEscapingWithoutSuffixes),
		otelprom.WithoutScopeInfo(),
		otelprom.WithoutTargetInfo(),
	)
	if err != nil {
		return nil, err
	}
	// No cardinality limit: the SDK's default (2000 series per
	// instrument) would fold the actions after the first couple of
	// thousand into one overflow series, and every label value here comes
	// from configuration (action ids, topics, partitions) or a fixed list
	// (codes, reasons), never from an event.
	opts := []sdkmetric.Option{sdkmetric.WithReader(exp), sdkmetric.WithCardinalityLimit(0)}
	// No exemplars unless OTEL_METRICS_EXEMPLAR_FILTER asks for them: the
	// text format cannot carry them, and the sink records outside the
	// delivery span's context, so the SDK's default filter (trace_based)
	// keeps none; yet it keeps a reservoir of one slot per bucket in every
	// histogram series and reads them all on each scrape: a third of a
	// scrape's garbage with 10,000 actions.
	if os.Getenv("OTEL_METRICS_EXEMPLAR_FILTER") == "" {
		opts = append(opts, sdkmetric.WithExemplarFilter(exemplar.AlwaysOffFilter))
	}
	mp := sdkmetric.NewMeterProvider(opts...)
	return &Provider{MeterProvider: mp, Registry: reg}, nil
}

// NewPrometheusMetrics is NewPrometheus with hookstream's instruments
// created on it.
func NewPrometheusMetrics() (*Provider, *Metrics, error) {
	prov, err := NewPrometheus()
	if err != nil {
		return nil, nil, fmt.Errorf("start metrics: %w", err)
	}
	m, err := New(prov.Meter("hookstream"))
	if err != nil {
		return nil, nil, errors.Join(fmt.Errorf("create metrics: %w", err), prov.Shutdown(context.Background()))
	}
	return prov, m, nil
}

// Shutdown stops the provider.
func (p *Provider) Shutdown(ctx context.Context) error { return p.MeterProvider.Shutdown(ctx) }
