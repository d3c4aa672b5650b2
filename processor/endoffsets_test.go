package processor

import (
	"context"
	"testing"
	"time"

	"github.com/hookstream/hookstream/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestEndOffsetsFillOnlyTheUnknown(t *testing.T) {
	c := kafkatest.NewCluster(t, kfake.SeedTopics(2, "events"))
	cl := c.Client
	produce := func(n int) {
		t.Helper()
		for range n {
			if err := cl.ProduceSync(context.Background(), &kgo.Record{Topic: "events", Partition: 0, Value: []byte("{}")}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	produce(3)

	var member *kgo.Client // nil: the member does not exist yet
	e := newEndOffsets(func() *kgo.Client { return member })
	hwm := func() [2]int64 {
		p := e.fill([]PartitionStatus{
			{Topic: "events", Partition: 0, HighWatermark: -1, Committable: 1},
			{Topic: "events", Partition: 1, HighWatermark: 7, Committable: 7}, // from a fetch: kept
		})
		return [2]int64{p[0].HighWatermark, p[1].HighWatermark}
	}
	if got := hwm(); got != [2]int64{-1, 7} {
		t.Errorf("before the member exists: %v, want [-1 7]", got)
	}
	member = cl
	if got := hwm(); got != [2]int64{3, 7} {
		t.Errorf("end offsets %v, want [3 7]: listed for the unknown one, the fetched one kept", got)
	}
	produce(2)
	if got := hwm(); got != [2]int64{3, 7} {
		t.Errorf("within the ttl: %v, want the listing reused", got)
	}
	e.mu.Lock()
	e.at = time.Time{} // the ttl has passed
	e.mu.Unlock()
	if got := hwm(); got != [2]int64{5, 7} {
		t.Errorf("after the ttl: %v, want [5 7]", got)
	}
}
