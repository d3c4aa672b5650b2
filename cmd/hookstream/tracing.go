package main

import (
	"log/slog"
	"net/url"
	"strings"

	"github.com/hookstream/hookstream/internal/telemetry"
	"go.opentelemetry.io/otel"
)

// tracingConfig reads the standard OpenTelemetry variables that turn trace
// export on: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (the traces URL as is) or
// else OTEL_EXPORTER_OTLP_ENDPOINT (a base URL, to which /v1/traces is
// added). Neither set, or OTEL_TRACES_EXPORTER=none: no traces. Only
// OTLP over HTTP (http/protobuf) is built in; asking for gRPC is a usage
// error rather than a silent lack of traces.
func (c *cli) tracingConfig() (telemetry.TracingConfig, error) {
	cfg := telemetry.TracingConfig{ServiceVersion: version}
	if strings.EqualFold(c.getenv("OTEL_TRACES_EXPORTER"), "none") {
		return cfg, nil
	}
	endpoint, name := c.getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	if endpoint == "" {
		base := c.getenv("OTEL_EXPORTER_OTLP_ENDPOINT")
		if base == "" {
			return cfg, nil
		}
		endpoint, name = strings.TrimSuffix(base, "/")+"/v1/traces", "OTEL_EXPORTER_OTLP_ENDPOINT"
	}
	for _, v := range []string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		if p := c.getenv(v); p != "" {
			if p != "http/protobuf" {
				return cfg, usagef("%s=%s: hookstream exports traces with OTLP over HTTP only: use http/protobuf (port 4318 on a collector)", v, p)
			}
			break
		}
	}
	if u, err := url.Parse(endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return cfg, usagef("%s: not an http(s) URL with a host", name)
	}
	cfg.EndpointURL = endpoint
	return cfg, nil
}

// logOTelErrors sends OpenTelemetry's own errors (a collector that cannot
// be reached, say) to log instead of the standard logger. OpenTelemetry
// keeps one handler per process; the command owns the process, so it is
// the one place that sets it.
func logOTelErrors(log *slog.Logger) {
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("telemetry export failed", "err", err)
	}))
}
