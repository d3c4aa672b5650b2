package lag

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hookstream/hookstream/internal/deadletter"
	"github.com/twmb/franz-go/pkg/kgo"
)

// readRanges reads, per partition, the records from from up to (not
// including) upTo. Control records are read too, only to see a range end on
// a transaction marker; they are not returned.
func readRanges(ctx context.Context, opts []kgo.Opt, from map[string]map[int32]kgo.Offset, upTo map[string]map[int32]int64) (map[string]map[int32][]*kgo.Record, error) {
	cl, err := kgo.NewClient(append(slices.Clip(opts), kgo.ConsumePartitions(from),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())...)
	if err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	defer cl.Close()
	left := 0
	for _, ps := range upTo {
		left += len(ps)
	}
	out := map[string]map[int32][]*kgo.Record{}
	for left > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("read records at the committed offsets: %d partitions not read: %w", left, err)
		}
		var errs []error
		fs.EachError(func(t string, p int32, err error) { errs = append(errs, fmt.Errorf("read %s/%d: %w", t, p, err)) })
		if len(errs) > 0 {
			return nil, errors.Join(errs...)
		}
		fs.EachPartition(func(fp kgo.FetchTopicPartition) {
			stop, ok := upTo[fp.Topic][fp.Partition]
			if !ok {
				return
			}
			done := false
			for _, r := range fp.Records {
				if r.Offset >= stop {
					done = true
					break
				}
				if !r.Attrs.IsControl() {
					if out[r.Topic] == nil {
						out[r.Topic] = map[int32][]*kgo.Record{}
					}
					out[r.Topic][r.Partition] = append(out[r.Topic][r.Partition], r)
				}
				done = r.Offset >= stop-1
			}
			if done {
				delete(upTo[fp.Topic], fp.Partition)
				cl.PauseFetchPartitions(map[string][]int32{fp.Topic: {fp.Partition}})
				left--
			}
		})
	}
	return out, nil
}

// parkedTime is when a parked event's source record was written.
func parkedTime(r *kgo.Record) time.Time { return deadletter.Decode(r).Source.Timestamp }
