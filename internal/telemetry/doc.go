// Package telemetry builds hookstream's OpenTelemetry parts: the instruments
// behind /metrics with their Prometheus exporter (metrics.go), and the tracer
// provider that exports delivery spans over OTLP (tracing.go).
//
// Instruments are created once, with exactly the Prometheus names of the
// product contract (dashboards and alerts query them), and passed to the
// packages that record them. Gauges that read state at scrape time (lag,
// breaker states, oldest pending event) are registered by the command, which
// knows where that state lives.
//
// Every action that delivered has a series per histogram bucket, so each
// histogram has only the few bucket bounds its quantiles need, and
// exemplars are off unless OTEL_METRICS_EXEMPLAR_FILTER turns them on:
// with 10,000 actions both decide how long a scrape takes
// (BenchmarkScrape10000Actions measures one).
//
// There is no global meter or tracer provider: cmd/hookstream creates both,
// hands the instruments and the tracer down, and shuts them down last so the
// final readings and spans are exported. With tracing off, Tracing.Tracer
// returns nil and the sink makes no spans at all.
package telemetry
