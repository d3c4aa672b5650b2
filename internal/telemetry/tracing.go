package telemetry

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// TracingConfig says where spans go. The zero value turns tracing off.
type TracingConfig struct {
	// EndpointURL is the full OTLP/HTTP traces URL, such as
	// http://collector:4318/v1/traces. Empty: no OTLP exporter.
	EndpointURL string
	// Exporter, when set, receives the spans instead of OTLP (tests use an
	// in-memory one).
	Exporter sdktrace.SpanExporter
	// ServiceName and ServiceVersion go into the resource of every span.
	// ServiceName defaults to "hookstream".
	ServiceName, ServiceVersion string
}

// Tracing owns a tracer provider, or nothing when tracing is off. Its
// Tracer is passed down to the parts that make spans; no global provider
// is set.
type Tracing struct {
	tp *sdktrace.TracerProvider
}

// NewTracing builds the tracer provider for cfg: spans are batched and
// exported in the background. Besides EndpointURL, the OTLP exporter honours
// the standard OTEL_EXPORTER_OTLP_{,TRACES_}{HEADERS,TIMEOUT,COMPRESSION,
// CERTIFICATE} variables and the SDK the OTEL_BSP_*, OTEL_TRACES_SAMPLER* and
// OTEL_RESOURCE_ATTRIBUTES ones: those are read by OpenTelemetry itself, so
// a deployment configures hookstream's traces as it does every other
// service's.
func NewTracing(ctx context.Context, cfg TracingConfig) (*Tracing, error) {
	exp := cfg.Exporter
	if exp == nil {
		if cfg.EndpointURL == "" {
			return &Tracing{}, nil
		}
		var err error
		exp, err = otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(cfg.EndpointURL))
		if err != nil {
			return nil, fmt.Errorf("otlp trace exporter for %s: %w", cfg.EndpointURL, err)
		}
	}
	name := cfg.ServiceName
	if name == "" {
		name = "hookstream"
	}
	// Later detectors win: OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES
	// override the defaults here.
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName(name), semconv.ServiceVersion(cfg.ServiceVersion)),
		resource.WithTelemetrySDK(), resource.WithHost(), resource.WithFromEnv())
	if res == nil {
		// A partial resource (one detector failed) is still worth using.
		_ = exp.Shutdown(ctx)
		return nil, fmt.Errorf("trace resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	return &Tracing{tp: tp}, nil
}

// Tracer returns the tracer for a part of hookstream, or nil when tracing
// is off (the parts take nil to mean: make no spans).
func (t *Tracing) Tracer(name string) trace.Tracer {
	if t == nil || t.tp == nil {
		return nil
	}
	return t.tp.Tracer("github.com/hookstream/hookstream/" + name)
}

// Shutdown exports the spans still buffered, within ctx, and stops the
// provider.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil || t.tp == nil {
		return nil
	}
	return t.tp.Shutdown(ctx)
}
