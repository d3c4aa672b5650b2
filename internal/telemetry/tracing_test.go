package telemetry

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

func TestTracingOffMakesNoTracer(t *testing.T) {
	tr, err := NewTracing(context.Background(), TracingConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Tracer("sink") != nil {
		t.Error("tracing without an endpoint returned a tracer")
	}
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Errorf("shutdown of tracing that is off: %v", err)
	}
}

func TestTracingNamesTheService(t *testing.T) {
	exp := keepSpans{tracetest.NewInMemoryExporter()}
	tr, err := NewTracing(context.Background(), TracingConfig{Exporter: exp, ServiceVersion: "1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	_, span := tr.Tracer("sink").Start(context.Background(), "signups")
	span.End()
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans := exp.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("%d spans exported at shutdown, want 1", len(spans))
	}
	got := map[string]string{}
	for _, kv := range spans[0].Resource.Attributes() {
		got[string(kv.Key)] = kv.Value.String()
	}
	if got["service.name"] != "hookstream" || got["service.version"] != "1.2.3" {
		t.Errorf("resource %v, want service.name hookstream and service.version 1.2.3", got)
	}
	if scope := spans[0].InstrumentationScope.Name; scope != "github.com/hookstream/hookstream/sink" {
		t.Errorf("instrumentation scope %q, want the package's import path", scope)
	}
}

// keepSpans keeps what was exported past Shutdown, which would reset it.
type keepSpans struct{ *tracetest.InMemoryExporter }

func (keepSpans) Shutdown(context.Context) error { return nil }

func TestTracingExportsOverOTLP(t *testing.T) {
	type export struct {
		path  string
		spans []string
		err   error
	}
	got := make(chan export, 10)
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		var req collectortrace.ExportTraceServiceRequest
		if err == nil {
			err = proto.Unmarshal(body, &req)
		}
		e := export{path: r.URL.Path, err: err}
		for _, rs := range req.GetResourceSpans() {
			for _, ss := range rs.GetScopeSpans() {
				for _, s := range ss.GetSpans() {
					e.spans = append(e.spans, s.GetName())
				}
			}
		}
		got <- e
		w.Header().Set("Content-Type", "application/x-protobuf")
		out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
		_, _ = w.Write(out)
	}))
	t.Cleanup(collector.Close)

	tr, err := NewTracing(context.Background(), TracingConfig{EndpointURL: collector.URL + "/custom/v1/traces"})
	if err != nil {
		t.Fatal(err)
	}
	_, span := tr.Tracer("sink").Start(context.Background(), "signups")
	span.End()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tr.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown (exports what is buffered): %v", err)
	}
	select {
	case e := <-got:
		if e.err != nil || e.path != "/custom/v1/traces" || len(e.spans) != 1 || e.spans[0] != "signups" {
			t.Errorf("collector got %+v, want span signups at /custom/v1/traces", e)
		}
	default:
		t.Fatal("shutdown returned before the collector got the span")
	}
}
