package sink

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hookstream/hookstream/processor"
	"github.com/hookstream/hookstream/rules"
)

// BenchmarkBatchEncodeSign measures forming one full batch: 1000 events of
// about 400 bytes, its Idempotency-Key, and the X-Signature over the body
// they make.
func BenchmarkBatchEncodeSign(b *testing.B) {
	a := testAction("bench", batched(1000, 0))
	a.Secrets = [][]byte{[]byte("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")}
	p := policyOf(a)
	items := make([]item, 1000)
	pad := strings.Repeat("x", 310)
	for i := range items {
		body, rec := event(i)
		items[i] = item{body: fmt.Appendf(body[:len(body)-1], `,"properties":{"plan":"pro","note":%q}}`, pad), rec: rec}
	}
	if n := len(joined(items)) / len(items); n < 380 || n > 420 {
		b.Fatalf("events of %d bytes, want about 400", n)
	}
	b.SetBytes(int64(len(joined(items))))
	b.ReportAllocs()
	for b.Loop() {
		newBatch(p, "http://example.invalid/", items)
	}
}

// BenchmarkSendBatched measures the whole path of one event: Send, batching
// into 1000s, signing and delivery to a local receiver, with 4 requests in
// flight. ns/op is the cost per event.
func BenchmarkSendBatched(b *testing.B) {
	// A receiver that only reads: the figure is the sink's cost, as far as
	// one process can tell it apart from its receiver.
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	b.Cleanup(rc.Close)
	s := newSink(b, Config{MaxBuffered: 20000})
	a := testAction("bench", func(a *rules.Compiled) {
		batched(1000, time.Second)(a)
		a.MaxInFlight = 4
		a.Secrets = [][]byte{[]byte("secret")}
	})
	body, rec := event(1)
	body = fmt.Appendf(body[:len(body)-1], `,"properties":{"note":%q}}`, strings.Repeat("x", 330))
	var done processor.Ack = testAck{done: func() {}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Send(ctx, a, rc.URL, body, rec, done); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Flush(ctx); err != nil {
		b.Fatal(err)
	}
}
