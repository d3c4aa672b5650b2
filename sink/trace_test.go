package sink

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/hookstream/hookstream/rules"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// tracedRecord returns event i whose record carries a traceparent when
// traced: trace id 000…0i+1, span id 00f067aa0ba902b{i}.
func tracedRecord(i int, traced bool) ([]byte, *kgo.Record) {
	body, rec := event(i)
	rec.Offset = int64(100 + i)
	rec.Partition = 3
	rec.Headers = nil
	if traced {
		rec.Headers = []kgo.RecordHeader{{Key: "traceparent", Value: fmt.Appendf(nil, "00-%s-%s-01", recTrace(i), recSpan(i))}}
	}
	return body, rec
}

func recTrace(i int) string { return fmt.Sprintf("%032x", i+1) }
func recSpan(i int) string  { return fmt.Sprintf("00f067aa0ba902b%x", i) }

func TestRequestSpans(t *testing.T) {
	cases := []struct {
		name    string
		edit    func(a *rules.Compiled)
		traced  []bool // per event: whether its record carries a traceparent
		answers []int  // status per request
		// want, per request span
		wantParent bool // the span continues the first record's trace
		wantLinks  []int
		wantAttrs  map[attribute.Key]attribute.Value
		wantAbsent []attribute.Key
	}{
		{
			name: "unbatched continues and links its record", traced: []bool{true}, answers: []int{200},
			wantParent: true, wantLinks: []int{0},
			wantAttrs: map[attribute.Key]attribute.Value{
				"messaging.destination.partition.id": attribute.StringValue("3"),
				"messaging.kafka.offset":             attribute.IntValue(100),
				"http.response.status_code":          attribute.IntValue(200),
			},
			wantAbsent: []attribute.Key{"messaging.batch.message_count"},
		},
		{
			name: "batched links every traced record", edit: batched(3, time.Hour), traced: []bool{true, false, true}, answers: []int{200},
			wantLinks: []int{0, 2},
			wantAttrs: map[attribute.Key]attribute.Value{
				"messaging.batch.message_count": attribute.IntValue(3),
			},
			wantAbsent: []attribute.Key{"messaging.kafka.offset"},
		},
		{
			name: "each attempt is a span", traced: []bool{true}, answers: []int{503, 200},
			wantParent: true, wantLinks: []int{0},
			wantAttrs: map[attribute.Key]attribute.Value{"http.response.status_code": attribute.IntValue(200)},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			exp := tracetest.NewInMemoryExporter()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
			t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
			rc := newReceiver(t, func(s seen) answer { return answer{status: c.answers[min(s.n, len(c.answers)-1)]} })
			s := newSink(t, Config{Tracer: tp.Tracer("sink")})
			d := newDones()
			a := testAction("traced-action", c.edit)
			for i, traced := range c.traced {
				body, r := tracedRecord(i, traced)
				if err := s.Send(context.Background(), a, rc.URL, body, r, d.fn(fmt.Sprint(i))); err != nil {
					t.Fatal(err)
				}
			}
			var reqs []seen
			for range c.answers {
				reqs = append(reqs, rc.next(t))
			}
			d.wait(t, len(c.traced))
			spans := exp.GetSpans()
			if len(spans) != len(c.answers) {
				t.Fatalf("%d spans, want one per request (%d)", len(spans), len(c.answers))
			}
			for n, sp := range spans {
				checkSpan(t, sp, reqs[n], n+1)
				if c.wantParent && sp.SpanContext.TraceID().String() != recTrace(0) {
					t.Errorf("span in trace %s, want its record's %s", sp.SpanContext.TraceID(), recTrace(0))
				}
				if !c.wantParent && sp.Parent.IsValid() {
					t.Errorf("batch span has parent %s, want a trace of its own", sp.Parent.SpanID())
				}
				if len(sp.Links) != len(c.wantLinks) {
					t.Fatalf("%d links, want %d", len(sp.Links), len(c.wantLinks))
				}
				for k, i := range c.wantLinks {
					l := sp.Links[k]
					if l.SpanContext.TraceID().String() != recTrace(i) || l.SpanContext.SpanID().String() != recSpan(i) {
						t.Errorf("link %d to %s/%s, want record %d's context %s/%s", k,
							l.SpanContext.TraceID(), l.SpanContext.SpanID(), i, recTrace(i), recSpan(i))
					}
					if got := attrMap(l.Attributes)["messaging.kafka.offset"]; got != attribute.IntValue(100+i) {
						t.Errorf("link %d names offset %v, want %d", k, got.String(), 100+i)
					}
				}
				attrs := attrMap(sp.Attributes)
				if n == len(spans)-1 {
					for k, want := range c.wantAttrs {
						if attrs[k] != want {
							t.Errorf("attribute %s = %q, want %q", k, attrs[k].String(), want.String())
						}
					}
				}
				for _, k := range c.wantAbsent {
					if _, ok := attrs[k]; ok {
						t.Errorf("attribute %s is set, want it absent", k)
					}
				}
				if failed := c.answers[n] >= 300; failed != (sp.Status.Code == codes.Error) {
					t.Errorf("answer %d gave span status %v", c.answers[n], sp.Status.Code)
				}
			}
		})
	}
}

// checkSpan checks what every request span carries: the action's name,
// the messaging attributes and the traceparent sent with request req.
func checkSpan(t *testing.T, sp tracetest.SpanStub, req seen, attempt int) {
	t.Helper()
	if sp.Name != "traced-action" || sp.SpanKind != trace.SpanKindClient {
		t.Errorf("span %q of kind %s, want the action's name, client", sp.Name, sp.SpanKind)
	}
	attrs := attrMap(sp.Attributes)
	for k, want := range map[attribute.Key]attribute.Value{
		"messaging.system":           attribute.StringValue("kafka"),
		"messaging.destination.name": attribute.StringValue("events"),
		"messaging.operation.type":   attribute.StringValue("process"),
		"messaging.operation.name":   attribute.StringValue("deliver"),
		"http.request.method":        attribute.StringValue(http.MethodPost),
		"server.address":             attribute.StringValue("127.0.0.1"),
		"hookstream.action":          attribute.StringValue("traced-action"),
		"hookstream.attempt":         attribute.IntValue(attempt),
	} {
		if attrs[k] != want {
			t.Errorf("attempt %d: attribute %s = %q, want %q", attempt, k, attrs[k].String(), want.String())
		}
	}
	want := fmt.Sprintf("00-%s-%s-01", sp.SpanContext.TraceID(), sp.SpanContext.SpanID())
	if got := req.header.Get("traceparent"); got != want {
		t.Errorf("attempt %d: request traceparent %q, want the request span's %q", attempt, got, want)
	}
}

func attrMap(kvs []attribute.KeyValue) map[attribute.Key]attribute.Value {
	m := make(map[attribute.Key]attribute.Value, len(kvs))
	for _, kv := range kvs {
		m[kv.Key] = kv.Value
	}
	return m
}
