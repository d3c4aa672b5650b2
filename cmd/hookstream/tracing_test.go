package main

import (
	"errors"
	"testing"
)

func TestTracingConfig(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string
		want  string // EndpointURL
		usage bool
	}{
		{"off", nil, "", false},
		{"base URL gets the traces path", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/"}, "http://collector:4318/v1/traces", false},
		{"traces URL as is", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://b/otlp/traces"}, "https://b/otlp/traces", false},
		{"exporter none", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_TRACES_EXPORTER": "none"}, "", false},
		{"http/protobuf", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}, "http://a:4318/v1/traces", false},
		{"grpc refused", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "", true},
		{"traces protocol wins", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"}, "http://a:4318/v1/traces", false},
		{"not a URL", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &cli{lookupEnv: func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok }}
			cfg, err := c.tracingConfig()
			var ue usageError
			if tt.usage != errors.As(err, &ue) || (!tt.usage && err != nil) {
				t.Fatalf("error %v, want a usage error: %v", err, tt.usage)
			}
			if !tt.usage && (cfg.EndpointURL != tt.want || cfg.ServiceVersion != version) {
				t.Errorf("config %+v, want endpoint %q and version %q", cfg, tt.want, version)
			}
		})
	}
}
