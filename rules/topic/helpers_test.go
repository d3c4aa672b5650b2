package topic

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hookstream/hookstream/internal/kafkatest"
	"github.com/hookstream/hookstream/internal/telemetry"
	"github.com/hookstream/hookstream/rules"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// testCluster is an in-process kfake cluster and a client on it that
// partitions records by key, as the rules writer does.
type testCluster struct {
	*kafkatest.Cluster
	cl *kgo.Client
}

func newCluster(t *testing.T) *testCluster {
	t.Helper()
	c := kafkatest.NewCluster(t)
	return &testCluster{Cluster: c, cl: c.NewClient(t)}
}

// createTopic creates a topic with the given cleanup.policy ("" = none set).
func (tc *testCluster) createTopic(t *testing.T, name string, partitions int32, policy string) {
	t.Helper()
	cfg := map[string]*string{}
	if policy != "" {
		cfg["cleanup.policy"] = kadm.StringPtr(policy)
	}
	if _, err := tc.Admin.CreateTopic(ctxT(t), partitions, 1, cfg, name); err != nil {
		t.Fatalf("create topic %s: %v", name, err)
	}
}

// put writes one rules-topic record per key/value pair; a nil value is a
// tombstone.
func (tc *testCluster) put(t *testing.T, topic string, kv ...any) {
	t.Helper()
	var recs []*kgo.Record
	for i := 0; i+1 < len(kv); i += 2 {
		r := &kgo.Record{Topic: topic, Key: []byte(kv[i].(string))}
		if v, ok := kv[i+1].(string); ok {
			r.Value = []byte(v)
		}
		recs = append(recs, r)
	}
	if err := tc.cl.ProduceSync(ctxT(t), recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// ctxT is a context ending with the test's wait bound.
func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), kafkatest.WaitTimeout)
	t.Cleanup(cancel)
	return ctx
}

// actionJSON is a valid action's record value, its URL path naming the version.
func actionJSON(id, version string) string {
	return fmt.Sprintf(`{"id":%q,"trigger":"type == \"track\"","url":"https://hooks.example.com/%s/%s"}`, id, id, version)
}

// metricsReader returns instruments and a function reading
// hookstream_rules_rejected_total.
func metricsReader(t *testing.T) (*telemetry.Metrics, func() int64) {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	m, err := telemetry.New(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)).Meter("test"))
	if err != nil {
		t.Fatal(err)
	}
	return m, func() int64 {
		t.Helper()
		var rm metricdata.ResourceMetrics
		if err := reader.Collect(context.Background(), &rm); err != nil {
			t.Fatal(err)
		}
		var n int64
		for _, sm := range rm.ScopeMetrics {
			for _, mt := range sm.Metrics {
				if sum, ok := mt.Data.(metricdata.Sum[int64]); ok && mt.Name == "hookstream_rules_rejected_total" {
					for _, p := range sum.DataPoints {
						n += p.Value
					}
				}
			}
		}
		return n
	}
}

// follow starts a follower on topic and stops it when the test ends.
func follow(t *testing.T, tc *testCluster, topic string, m *telemetry.Metrics, env map[string]string) (*Follower, *rules.Store) {
	t.Helper()
	store := &rules.Store{}
	f, err := New(Config{
		Opts:    tc.Opts(),
		Topic:   topic,
		Store:   store,
		Compile: rules.Options{Getenv: func(k string) string { return env[k] }},
		Metrics: m,
		Retry:   50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return f, store
}

// ready waits until f is caught up.
func ready(t *testing.T, f *Follower) {
	t.Helper()
	if err := f.Ready(ctxT(t)); err != nil {
		t.Fatalf("Ready: %v", err)
	}
}

// urlOf returns the URL of action id in the store, or "" if it is absent.
func urlOf(s *rules.Store, id string) string {
	if c := s.Load().Get(id); c != nil {
		return c.URL
	}
	return ""
}
