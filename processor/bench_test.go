package processor

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookstream/hookstream/internal/deadletter"
	"github.com/hookstream/hookstream/rules"
	"github.com/twmb/franz-go/pkg/kgo"
)

// countingSink acks every hand-over at once and counts the records whose
// last hand-over it has seen; the benchmark measures the processor, not a
// sink.
type countingSink struct {
	sends, letters atomic.Int64
}

func (s *countingSink) Send(_ context.Context, _ *rules.Compiled, _ string, _ []byte, _ *kgo.Record, ack Ack) error {
	s.sends.Add(1)
	ack.Done()
	return nil
}

func (s *countingSink) SendParked(ctx context.Context, a *rules.Compiled, url string, body []byte, src *kgo.Record, ack Ack) error {
	return s.Send(ctx, a, url, body, src, ack)
}

func (s *countingSink) DeadLetter(_ context.Context, _ *kgo.Record, _ deadletter.Reason, _ string, _ error, ack Ack) {
	s.letters.Add(1)
	ack.Done()
}

func (s *countingSink) Flush(context.Context) error { return nil }

// BenchmarkPipeline consumes a backlog of CDP events through three actions
// (two pass-through, one mapped) with a sink that acks at once, and reports
// records per second through poll, decode, match, render and commit.
func BenchmarkPipeline(b *testing.B) {
	const parts, perPart = 4, 25_000
	if !rulesReady() {
		b.Skip("rules cannot decode and compile yet")
	}
	set, err := rules.CompileAll([]rules.Action{
		{ID: "signups", Trigger: `type == "track" && event == "Signed Up"`, URL: "http://hooks.test/s"},
		{ID: "pro", Trigger: `properties.plan == "pro"`, URL: "http://hooks.test/p/{{ userId }}"},
		{ID: "identify", Trigger: `type == "identify"`, URL: "http://hooks.test/i", Payload: map[string]any{"email": "traits.email", "user": "userId"}},
	}, rules.Options{})
	if err != nil {
		b.Fatal(err)
	}
	store := &rules.Store{}
	store.Swap(set)

	c := startCluster(b, parts)
	var recs []*kgo.Record
	for p := range int32(parts) {
		for i := range perPart {
			var v []byte
			switch i % 3 {
			case 0:
				v = fmt.Appendf(nil, `{"type":"track","event":"Signed Up","userId":"u%d","messageId":"m-%d-%d","properties":{"plan":"pro","n":%d},"context":{"ip":"10.0.0.1","library":{"name":"analytics.js"}},"timestamp":"2026-11-28T06:00:00Z"}`, i, p, i, i)
			case 1:
				v = fmt.Appendf(nil, `{"type":"identify","userId":"u%d","messageId":"m-%d-%d","traits":{"email":"u%d@example.com","plan":"free"},"context":{"ip":"10.0.0.2"},"timestamp":"2026-11-28T06:00:00Z"}`, i, p, i, i)
			default:
				v = fmt.Appendf(nil, `{"type":"page","name":"Home","anonymousId":"a%d","messageId":"m-%d-%d","properties":{"path":"/","title":"Home"},"timestamp":"2026-11-28T06:00:00Z"}`, i, p, i)
			}
			recs = append(recs, &kgo.Record{Topic: topic, Partition: p, Value: v})
		}
	}
	if err := c.cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		b.Fatal(err)
	}

	total := int64(parts * perPart)
	round := 0
	for b.Loop() {
		round++
		sink := &countingSink{}
		p, err := New(Config{
			Opts: c.fastOpts(), Topics: []string{topic}, Group: fmt.Sprintf("bench-%d", round),
			Rules: store, Sink: sink, Logger: slog.New(slog.DiscardHandler),
		})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		ran := make(chan error, 1)
		go func() { ran <- p.Run(ctx) }()
		deadline := time.Now().Add(time.Minute)
		for {
			st := p.Partitions()
			done := int64(0)
			for _, s := range st {
				done += max(0, s.Committable)
			}
			if done == total {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("round %d: %d of %d records done after a minute", round, done, total)
			}
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
		if err := <-ran; err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(total)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
