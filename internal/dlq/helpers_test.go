package dlq

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hookstream/hookstream/internal/deadletter"
	"github.com/hookstream/hookstream/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

const dlqTopic, retryTopic = "hookstream.dlq", "hookstream.retry"

// t0 is when the test dead letters begin; each test stamps its records
// itself, so no test depends on the clock.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// startKafka starts a cluster with a dead-letter topic of partitions
// partitions and a retry topic.
func startKafka(t *testing.T, partitions int32) *kafkatest.Cluster {
	t.Helper()
	return kafkatest.NewCluster(t, kfake.SeedTopics(partitions, dlqTopic), kfake.SeedTopics(1, retryTopic))
}

// letterRecord is the dead letter of source event i (messageId m-i) for
// action, written at time at to partition p.
func letterRecord(i int, action string, reason deadletter.Reason, status int, p int32, at time.Time) *kgo.Record {
	src := &kgo.Record{Topic: "events", Partition: int32(i % 4), Offset: int64(1000 + i), Key: fmt.Appendf(nil, "u%d", i),
		Value:   fmt.Appendf(nil, `{"type":"track","event":"Paid","messageId":"m-%d"}`, i),
		Headers: []kgo.RecordHeader{{Key: "traceparent", Value: fmt.Appendf(nil, "00-%032d-%016d-01", i, i)}}}
	if action == "" { // poison: matched nothing
		src.Value = []byte("not json")
	}
	rec := deadletter.Encode(dlqTopic, src, deadletter.Letter{Reason: reason, Action: action, Status: status,
		Error: fmt.Sprintf("status %d", status), Attempts: 1})
	rec.Partition, rec.Timestamp = p, at
	return rec
}

// readAll returns the letters Read hands out, in its order.
func readAll(ctx context.Context, opts []kgo.Opt, topic string, f Filter, keep bool) ([]Letter, error) {
	var out []Letter
	err := Read(ctx, opts, topic, f, keep, func(l Letter) error {
		out = append(out, l)
		return nil
	})
	return out, err
}

func messageIDs(letters []Letter) []string {
	out := make([]string, len(letters))
	for i, l := range letters {
		out[i] = cmpOr(l.MessageID, "poison")
	}
	return out
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
