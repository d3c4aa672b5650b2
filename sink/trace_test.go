package sink

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hookstream/hookstream/rules"
	"github.com/twmb/franz-go/pkg/kgo"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func TestRequestSpans(t *testing.T) {
	traceIDs := []string{"4bf92f3577b34da6a3ce929d0e0e4736", "0af7651916cd43dd8448eb211c80319c"}
	traced := func(i int) ([]byte, *kgo.Record) {
		body, rec := event(i)
		rec.Headers = []kgo.RecordHeader{{Key: "traceparent", Value: []byte(fmt.Sprintf("00-%s-00f067aa0ba902b7-01", traceIDs[i]))}}
		return body, rec
	}
	cases := []struct {
		name      string
		edit      func(a *rules.Compiled)
		events    int
		wantTrace string // the request's trace: the record's when unbatched
		wantLinks int
	}{
		{"unbatched continues the record's trace", nil, 1, traceIDs[0], 0},
		{"batched links to every record", batched(2, time.Hour), 2, "", 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
			t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
			rc := newReceiver(t, nil)
			s := newSink(t, Config{Tracer: tp.Tracer("sink")})
			d := newDones()
			a := testAction("traced", c.edit)
			for i := range c.events {
				body, r := traced(i)
				if err := s.Send(context.Background(), a, rc.URL, body, r, d.fn(fmt.Sprint(i))); err != nil {
					t.Fatal(err)
				}
			}
			got := rc.next(t)
			d.wait(t, c.events)
			spans := rec.Ended()
			if len(spans) != 1 {
				t.Fatalf("%d spans, want 1 per request", len(spans))
			}
			sp := spans[0]
			if sp.SpanKind() != trace.SpanKindClient || len(sp.Links()) != c.wantLinks {
				t.Errorf("span kind %s with %d links, want client with %d", sp.SpanKind(), len(sp.Links()), c.wantLinks)
			}
			id := sp.SpanContext().TraceID().String()
			if c.wantTrace != "" && id != c.wantTrace {
				t.Errorf("span in trace %s, want the record's %s", id, c.wantTrace)
			}
			if tp := got.header.Get("traceparent"); !strings.Contains(tp, id) || !strings.Contains(tp, sp.SpanContext().SpanID().String()) {
				t.Errorf("request traceparent %q does not carry the request span", tp)
			}
		})
	}
}
