package sink

import (
	"context"
	"net/http"
	"strconv"

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
//
// The span is named after the action, which is what users look traces up
// by. Following the OpenTelemetry messaging conventions for processing
// consumed records, it links to the context of every record it carries (the
// W3C traceparent header each record came with), each link naming the
// record's partition and offset. An unbatched request also continues its
// record's trace as the span's parent, so a single event's trace reads from
// producer to webhook; a batch starts a trace of its own, since its records
// belong to many. The span's context is injected into the request, so the
// receiver can continue it.
func (r *runner) startSpan(ctx context.Context, b *batch, req *http.Request) (context.Context, trace.Span) {
	if r.s.tracer == nil {
		return ctx, nil
	}
	var tc propagation.TraceContext
	parent := ctx
	links := make([]trace.Link, 0, min(len(b.items), maxLinks))
	topic, oneTopic := "", true
	for i, it := range b.items {
		if it.rec == nil {
			continue
		}
		if topic == "" {
			topic = it.rec.Topic
		} else if it.rec.Topic != topic {
			oneTopic = false
		}
		if i >= maxLinks {
			continue
		}
		rctx := tc.Extract(ctx, recordCarrier(it.rec.Headers))
		sc := trace.SpanContextFromContext(rctx)
		if !sc.IsValid() {
			continue
		}
		links = append(links, trace.Link{SpanContext: sc, Attributes: []attribute.KeyValue{
			semconv.MessagingDestinationName(it.rec.Topic),
			semconv.MessagingDestinationPartitionID(strconv.Itoa(int(it.rec.Partition))),
			semconv.MessagingKafkaOffset(int(it.rec.Offset)),
		}})
		if !b.p.batched && len(b.items) == 1 {
			parent = rctx
		}
	}
	attrs := []attribute.KeyValue{
		semconv.MessagingSystemKafka,
		semconv.MessagingOperationTypeProcess,
		semconv.MessagingOperationName("deliver"),
		semconv.HTTPRequestMethodKey.String(b.p.method),
		semconv.ServerAddress(req.URL.Hostname()),
		attribute.String("hookstream.action", r.id),
		attribute.Int("hookstream.attempt", b.attempts+1),
	}
	if topic != "" && oneTopic {
		attrs = append(attrs, semconv.MessagingDestinationName(topic))
	}
	if b.p.batched {
		attrs = append(attrs, semconv.MessagingBatchMessageCount(len(b.items)))
	} else if len(b.items) == 1 && b.items[0].rec != nil {
		rec := b.items[0].rec
		attrs = append(attrs,
			semconv.MessagingDestinationPartitionID(strconv.Itoa(int(rec.Partition))),
			semconv.MessagingKafkaOffset(int(rec.Offset)))
	}
	if p := req.URL.Port(); p != "" {
		if n, err := strconv.Atoi(p); err == nil {
			attrs = append(attrs, semconv.ServerPort(n))
		}
	}
	ctx, span := r.s.tracer.Start(parent, r.id,
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithLinks(links...),
		trace.WithAttributes(attrs...))
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
		if o.status != 0 {
			span.SetAttributes(semconv.ErrorTypeKey.String(strconv.Itoa(o.status)))
		} else {
			span.SetAttributes(semconv.ErrorTypeOther)
		}
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
