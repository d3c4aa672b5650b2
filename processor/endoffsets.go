package processor

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// endOffsets completes the partition status with end offsets for the
// partitions no fetch has told the member about.
//
// The member learns a partition's end offset from fetch answers, and
// franz-go passes an answer on only when it carries records (or an error)
// for some partition; with incremental fetch sessions the broker also
// leaves out partitions where nothing changed. So a partition that has been
// idle since it was assigned has no known end offset, and without one its
// lag would be missing from /metrics and the status page exactly when it is
// 0, or, right after start-up, before the first fetch, when it is largest.
// For those partitions only, the end offset is listed from the brokers
// (one ListOffsets request through the member's client), at most once per
// ttl; partitions that fetch keep using their fetch's figure.
type endOffsets struct {
	client  func() *kgo.Client // nil until the member exists
	ttl     time.Duration
	timeout time.Duration

	mu     sync.Mutex // one listing at a time; readers may run at once
	at     time.Time  // of the last listing
	failed bool       // the last listing failed
	ends   map[string]map[int32]int64
}

func newEndOffsets(client func() *kgo.Client) *endOffsets {
	return &endOffsets{client: client, ttl: 2 * time.Second, timeout: time.Second}
}

// fill sets the missing end offsets of parts where the brokers answered.
func (e *endOffsets) fill(parts []PartitionStatus) []PartitionStatus {
	var topics []string
	for _, p := range parts {
		if p.HighWatermark < 0 && !slices.Contains(topics, p.Topic) {
			topics = append(topics, p.Topic)
		}
	}
	if len(topics) == 0 {
		return parts
	}
	ends := e.list(topics)
	for i, p := range parts {
		if o, ok := ends[p.Topic][p.Partition]; ok && p.HighWatermark < 0 {
			parts[i].HighWatermark = o
		}
	}
	return parts
}

// list returns the end offsets of topics, listed at most ttl ago. A failed
// listing is remembered as empty for ttl too, so a broker that is down costs
// one timeout per ttl, not one per reading.
func (e *endOffsets) list(topics []string) map[string]map[int32]int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	fresh := time.Since(e.at) < e.ttl
	for _, t := range topics {
		if _, ok := e.ends[t]; !ok && !e.failed {
			fresh = false // a topic not listed last time
		}
	}
	if fresh {
		return e.ends
	}
	cl := e.client()
	if cl == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), e.timeout)
	defer cancel()
	listed, err := kadm.NewClient(cl).ListEndOffsets(ctx, topics...)
	e.at, e.ends, e.failed = time.Now(), map[string]map[int32]int64{}, err != nil
	if err != nil {
		return e.ends
	}
	listed.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			return
		}
		if e.ends[o.Topic] == nil {
			e.ends[o.Topic] = map[int32]int64{}
		}
		e.ends[o.Topic][o.Partition] = o.Offset
	})
	return e.ends
}
