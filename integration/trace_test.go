package integration

import (
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hookstream/hookstream/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kgo"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// exportedSpan is a span as an OTLP collector received it.
type exportedSpan struct {
	service string
	span    *tracepb.Span
}

// startCollector is an OTLP/HTTP trace endpoint that passes on every span
// it receives.
func startCollector(t *testing.T) (*httptest.Server, <-chan exportedSpan) {
	t.Helper()
	spans := make(chan exportedSpan, 1000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		var req collectortrace.ExportTraceServiceRequest
		if err == nil {
			err = proto.Unmarshal(body, &req)
		}
		if err != nil || r.URL.Path != "/v1/traces" {
			http.Error(w, "want an OTLP trace export at /v1/traces", http.StatusBadRequest)
			return
		}
		for _, rs := range req.GetResourceSpans() {
			service := attrs(rs.GetResource().GetAttributes())["service.name"]
			for _, ss := range rs.GetScopeSpans() {
				for _, s := range ss.GetSpans() {
					spans <- exportedSpan{service: service, span: s}
				}
			}
		}
		out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	t.Cleanup(srv.Close)
	return srv, spans
}

// attrs renders OTLP attributes as strings.
func attrs(kvs []*commonpb.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		v := kv.GetValue()
		switch v.GetValue().(type) {
		case *commonpb.AnyValue_IntValue:
			m[kv.GetKey()] = fmt.Sprint(v.GetIntValue())
		default:
			m[kv.GetKey()] = v.GetStringValue()
		}
	}
	return m
}

func TestDeliverySpansLinkToTheirRecords(t *testing.T) {
	c := startCluster(t, 1, "events")
	rv := startReceiver(t, nil)
	collector, spans := startCollector(t)
	startWorker(t, c, "g-trace", rulesFor(`actions:
- id: batched
  trigger: event == "B"
  url: URL/batched
  batch: {size: 3, wait: 10s}
- id: single
  trigger: event == "S"
  url: URL/single
`, rv.URL), []string{"OTEL_EXPORTER_OTLP_ENDPOINT=" + collector.URL, "OTEL_BSP_SCHEDULE_DELAY=100"})

	// Each record comes with the context of the span that produced it.
	traceID := func(i int) string { return fmt.Sprintf("%032x", 0xabc0+i) }
	spanID := func(i int) string { return fmt.Sprintf("%016x", 0xdef0+i) }
	var recs []*kgo.Record
	for i, name := range []string{"B", "B", "B", "S"} {
		recs = append(recs, &kgo.Record{Topic: "events", Value: trackEvent(i, name), Headers: []kgo.RecordHeader{
			{Key: "traceparent", Value: fmt.Appendf(nil, "00-%s-%s-01", traceID(i), spanID(i))},
		}})
	}
	c.Produce(t, recs...)
	reqs := rv.waitFor(t, "both requests", func(r []request) bool { return len(r) >= 2 })
	sent := map[string]string{} // path → traceparent
	for _, r := range reqs {
		sent[r.Path] = r.Header.Get("traceparent")
	}

	got := map[string]exportedSpan{}
	deadline := time.After(kafkatest.WaitTimeout)
	for len(got) < 2 {
		select {
		case s := <-spans:
			got[s.span.GetName()] = s
		case <-deadline:
			t.Fatalf("collector got spans %v, want one named after each action", got)
		}
	}

	cases := []struct {
		action     string
		records    []int // indexes of the records the request carried
		wantParent bool  // continues the record's trace
		wantAttrs  map[string]string
	}{
		{"batched", []int{0, 1, 2}, false, map[string]string{"messaging.batch.message_count": "3"}},
		{"single", []int{3}, true, map[string]string{"messaging.kafka.offset": "3", "messaging.destination.partition.id": "0"}},
	}
	for _, c := range cases {
		t.Run(c.action, func(t *testing.T) {
			es, ok := got[c.action]
			if !ok {
				t.Fatalf("no span named %s; got %v", c.action, got)
			}
			s := es.span
			tid, sid := hex.EncodeToString(s.GetTraceId()), hex.EncodeToString(s.GetSpanId())
			if es.service != "hookstream" || s.GetKind() != tracepb.Span_SPAN_KIND_CLIENT {
				t.Errorf("span of service %q, kind %s; want hookstream, client", es.service, s.GetKind())
			}
			want := map[string]string{
				"messaging.system":           "kafka",
				"messaging.destination.name": "events",
				"messaging.operation.type":   "process",
				"hookstream.action":          c.action,
				"http.request.method":        "POST",
			}
			for k, v := range c.wantAttrs {
				want[k] = v
			}
			a := attrs(s.GetAttributes())
			for k, v := range want {
				if a[k] != v {
					t.Errorf("attribute %s = %q, want %q", k, a[k], v)
				}
			}
			if len(s.GetLinks()) != len(c.records) {
				t.Fatalf("%d links, want one per record (%d)", len(s.GetLinks()), len(c.records))
			}
			for k, i := range c.records {
				l := s.GetLinks()[k]
				if lt, ls := hex.EncodeToString(l.GetTraceId()), hex.EncodeToString(l.GetSpanId()); lt != traceID(i) || ls != spanID(i) {
					t.Errorf("link %d to %s/%s, want record %d's context %s/%s", k, lt, ls, i, traceID(i), spanID(i))
				}
			}
			parent := hex.EncodeToString(s.GetParentSpanId())
			if c.wantParent && (tid != traceID(c.records[0]) || parent != spanID(c.records[0])) {
				t.Errorf("span %s/%s with parent %s, want a child of the record's span %s/%s", tid, sid, parent, traceID(c.records[0]), spanID(c.records[0]))
			}
			if !c.wantParent && (parent != "" || tid == traceID(0)) {
				t.Errorf("batch span in trace %s with parent %q, want a trace of its own", tid, parent)
			}
			if tp := sent["/"+c.action]; tp != fmt.Sprintf("00-%s-%s-01", tid, sid) {
				t.Errorf("request carried traceparent %q, want the delivery span's", tp)
			}
		})
	}
}
