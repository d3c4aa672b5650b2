package sink

import (
	"context"
	"net/http"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// maxLinks bounds the links of one request span: a batch of 1000 would
// otherwise parse 1000 traceparents per attempt, and tracing backends keep
// only the first hundred or so anyway.
const maxLinks = 128

// startSpan starts the client span of one request, when tracing is on.
// An unbatched request continues its record's trace (its traceparent
// header); a batched one starts a trace of its own and links to the traces
// of the records it carries, as the OpenTelemetry messaging conventions
// ask for batches. The span's context is injected into the request, so the
// receiver can continue it.
func (r *runner) startSpan(ctx context.Context, b *batch, req *http.Request) (context.Context, trace.Span) {
	if r.s.tracer == nil {
		return ctx, nil
	}
	var tc propagation.TraceContext
	parent := ctx
	var links []trace.Link
	if !b.p.batched && len(b.items) == 1 && b.items[0].rec != nil {
		parent = tc.Extract(ctx, recordCarrier(b.items[0].rec.Headers))
	} else {
		for _, it := range b.items[:min(len(b.items), maxLinks)] {
			if it.rec == nil {
				continue
			}
			if sc := trace.SpanContextFromContext(tc.Extract(ctx, recordCarrier(it.rec.Headers))); sc.IsValid() {
				links = append(links, trace.Link{SpanContext: sc})
			}
		}
	}
	ctx, span := r.s.tracer.Start(parent, b.p.method,
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithLinks(links...),
		trace.WithAttributes(
			semconv.HTTPRequestMethodKey.String(b.p.method),
			semconv.ServerAddress(req.URL.Hostname()),
			semconv.MessagingSystemKafka,
			semconv.MessagingBatchMessageCount(len(b.items)),
			attribute.String("hookstream.action", r.id),
			attribute.Int("hookstream.attempt", b.attempts+1),
		))
	tc.Inject(ctx, propagation.HeaderCarrier(req.Header))
	return ctx, span
}

// endSpan records the outcome on span and ends it.
func endSpan(span trace.Span, o outcome) {
	if span == nil {
		return
	}
	if o.status != 0 {
		span.SetAttributes(semconv.HTTPResponseStatusCode(o.status))
	}
	if o.class != classSuccess && o.err != nil {
		span.SetStatus(codes.Error, o.err.Error())
	}
	span.End()
}

// recordCarrier reads W3C trace context from Kafka record headers.
type recordCarrier []kgo.RecordHeader

func (c recordCarrier) Get(key string) string {
	for _, h := range c {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

func (c recordCarrier) Set(string, string) {}

func (c recordCarrier) Keys() []string {
	keys := make([]string, len(c))
	for i, h := range c {
		keys[i] = h.Key
	}
	return keys
}
