package sink

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hookstream/hookstream/internal/telemetry"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

func TestFlushSendsPartialBatchesAndWaits(t *testing.T) {
	rc := newReceiver(t, nil)
	s := newSink(t, Config{})
	d := newDones()
	a := testAction("partial", batched(1000, time.Hour))
	for i := range 5 {
		send(t, s, a, rc.URL, i, d)
	}
	flush(t, s)
	for _, name := range []string{"e0", "e1", "e2", "e3", "e4"} {
		if n := d.count(name); n != 1 {
			t.Fatalf("%s done %d times when Flush returned", name, n)
		}
	}
}

func TestFlushGivesUpAtDeadline(t *testing.T) {
	release := make(chan struct{})
	rc := newReceiver(t, func(seen) answer {
		<-release
		return answer{status: http.StatusOK}
	})
	s := newSink(t, Config{})
	d := newDones()
	send(t, s, testAction("stuck", nil), rc.URL, 1, d)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := s.Flush(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Flush = %v with an event in flight, want the deadline", err)
	}
	close(release)
	flush(t, s)
	if d.count("e1") != 1 {
		t.Fatal("event not done after the second Flush")
	}
}

func TestCloseLeavesUndeliveredUndone(t *testing.T) {
	rc := newReceiver(t, func(seen) answer { return answer{status: http.StatusServiceUnavailable} })
	s, err := New(Config{Producer: newCluster(t).producer})
	if err != nil {
		t.Fatal(err)
	}
	d := newDones()
	a := testAction("dead-endpoint", batched(10, time.Hour))
	for i := range 3 {
		send(t, s, a, rc.URL, i, d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := s.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close = %v, want the deadline: the endpoint never answered 2xx", err)
	}
	if len(d.ch) != 0 {
		t.Fatal("done called for an event that was neither delivered nor dead-lettered")
	}
	body, rec := event(9)
	if err := s.Send(context.Background(), a, rc.URL, body, rec, d.fn("late")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after Close = %v, want ErrClosed", err)
	}
	buf := make([]byte, 1<<20)
	stacks := string(buf[:runtime.Stack(buf, true)])
	for _, fn := range []string{"sink.(*runner)", "sink.(*dlqRetrier)", "sink.(*breaker)"} {
		if strings.Contains(stacks, fn) {
			t.Fatalf("a %s goroutine outlived Close:\n%s", fn, stacks)
		}
	}
}

func TestMetrics(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	m, err := telemetry.New(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)).Meter("test"))
	if err != nil {
		t.Fatal(err)
	}
	rc := newReceiver(t, func(s seen) answer {
		if strings.Contains(s.body, `"e1"`) {
			return answer{status: http.StatusBadRequest}
		}
		return answer{status: http.StatusOK}
	})
	s := newSink(t, Config{Metrics: m})
	d := newDones()
	a := testAction("measured", nil)
	for i := range 3 {
		send(t, s, a, rc.URL, i, d)
	}
	d.wait(t, 3)

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	sums := map[string]int64{}
	counts := map[string]uint64{}
	for _, sm := range rm.ScopeMetrics {
		for _, mt := range sm.Metrics {
			switch data := mt.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range data.DataPoints {
					sums[mt.Name+labels(p.Attributes.ToSlice())] += p.Value
				}
			case metricdata.Histogram[float64]:
				for _, p := range data.DataPoints {
					counts[mt.Name] += p.Count
				}
			case metricdata.Histogram[int64]:
				for _, p := range data.DataPoints {
					counts[mt.Name] += p.Count
				}
			}
		}
	}
	wantSums := map[string]int64{
		"hookstream_events_delivered_total{action=measured}":                     2,
		"hookstream_deliveries_total{action=measured,code=2xx}":                  2,
		"hookstream_deliveries_total{action=measured,code=4xx}":                  1,
		"hookstream_events_dead_lettered_total{action=measured,reason=rejected}": 1,
	}
	for k, v := range wantSums {
		if sums[k] != v {
			t.Errorf("%s = %d, want %d (all: %v)", k, sums[k], v, sums)
		}
	}
	wantCounts := map[string]uint64{
		"hookstream_delivery_duration_seconds": 3,
		"hookstream_batch_size":                3,
		"hookstream_event_latency_seconds":     2,
	}
	for k, v := range wantCounts {
		if counts[k] != v {
			t.Errorf("%s observed %d times, want %d", k, counts[k], v)
		}
	}
}

func labels(kvs []attribute.KeyValue) string {
	var parts []string
	for _, kv := range kvs {
		parts = append(parts, string(kv.Key)+"="+kv.Value.String())
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func TestNewChecksTheConfig(t *testing.T) {
	producer := newCluster(t).producer
	tests := []struct {
		name string
		cfg  Config
		want []string // every problem, each named; none: valid
	}{
		{"zero values but the producer", Config{Producer: producer}, nil},
		{"no producer", Config{}, []string{"producer: required"}},
		{"every problem at once", Config{MaxBuffered: -1, IdleAfter: -time.Second, DLQTopic: "t", RetryTopic: "t"},
			[]string{"producer: required", "max buffered -1", "idle after -1s", "both t"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.cfg)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("New = %v, want a Sink", err)
				}
				if err := s.Close(context.Background()); err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || s != nil {
				t.Fatalf("New = %v, %v, want no Sink and an error", s, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}
