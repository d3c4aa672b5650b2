package dlq

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ErrNoTopic is returned by Read when the dead-letter topic does not exist.
var ErrNoTopic = errors.New("dead-letter topic does not exist")

// clockSlack widens the offsets looked up for Filter.Until: dead letters
// carry their writer's clock, and several workers write to one partition,
// so a record stamped just before Until may follow one stamped after it.
// Records in the slack are read and dropped by the filter.
const clockSlack = time.Minute

// Read returns the dead letters of topic that f selects, oldest first
// (newest last). It joins no group and commits nothing. It reads only the
// offsets f's times can match, looked up by timestamp, and stops at the end
// offsets listed when it started, so dead letters written meanwhile are not
// waited for. With keep, each letter holds its source record, for Replay.
func Read(ctx context.Context, opts []kgo.Opt, topic string, f Filter, keep bool) ([]Letter, error) {
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", topic, err)
	}
	ranges, err := offsetRanges(ctx, kadm.NewClient(cl), topic, f)
	cl.Close()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", topic, err)
	}
	if len(ranges) == 0 {
		return nil, nil
	}
	start := map[int32]kgo.Offset{}
	for p, r := range ranges {
		start[p] = kgo.NewOffset().At(r.from)
	}
	cl, err = kgo.NewClient(append(slices.Clip(opts),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: start}),
		// A partition may end in a transaction marker: kept, so that its
		// end is seen.
		kgo.KeepControlRecords())...)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", topic, err)
	}
	defer cl.Close()

	var out []Letter
	var strs interner
	for len(ranges) > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("read %s: %d partitions not read to the end: %w", topic, len(ranges), err)
		}
		var errs []error
		fs.EachError(func(_ string, p int32, err error) { errs = append(errs, fmt.Errorf("partition %d: %w", p, err)) })
		if len(errs) > 0 {
			return nil, fmt.Errorf("read %s: %w", topic, errors.Join(errs...))
		}
		fs.EachRecord(func(rec *kgo.Record) {
			r, ok := ranges[rec.Partition]
			if !ok || rec.Offset >= r.to {
				return // past the end captured at the start
			}
			if rec.Offset+1 >= r.to {
				delete(ranges, rec.Partition)
			}
			if rec.Attrs.IsControl() {
				return
			}
			if l := newLetter(rec, keep, &strs); f.Match(&l) {
				out = append(out, l)
			}
		})
	}
	slices.SortStableFunc(out, func(a, b Letter) int {
		return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.Partition, b.Partition), cmp.Compare(a.Offset, b.Offset))
	})
	return out, nil
}

// offsetRange is the offsets [from, to) of one partition to read.
type offsetRange struct{ from, to int64 }

// offsetRanges returns, for each partition of topic that may hold letters f
// selects, the offsets to read: from the first record stamped at or after
// f.Since (the log start without it) to the end offset now, or to the first
// record stamped after f.Until (plus clockSlack) when that comes sooner.
func offsetRanges(ctx context.Context, adm *kadm.Client, topic string, f Filter) (map[int32]offsetRange, error) {
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if errors.Is(err, kerr.UnknownTopicOrPartition) {
		return nil, ErrNoTopic
	}
	if err != nil {
		return nil, fmt.Errorf("list end offsets: %w", err)
	}
	if len(ends[topic]) == 0 {
		return nil, ErrNoTopic
	}
	var starts kadm.ListedOffsets
	if f.Since.IsZero() {
		starts, err = adm.ListStartOffsets(ctx, topic)
	} else {
		starts, err = adm.ListOffsetsAfterMilli(ctx, f.Since.UnixMilli(), topic)
	}
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("list start offsets: %w", err)
	}
	var stops kadm.ListedOffsets
	if !f.Until.IsZero() {
		stops, err = adm.ListOffsetsAfterMilli(ctx, f.Until.Add(clockSlack).UnixMilli()+1, topic)
		if err == nil {
			err = stops.Error()
		}
		if err != nil {
			return nil, fmt.Errorf("list offsets after %s: %w", f.Until.Format(time.RFC3339), err)
		}
	}
	ranges := map[int32]offsetRange{}
	for p, end := range ends[topic] {
		r := offsetRange{to: end.Offset}
		if s, ok := starts.Lookup(topic, p); ok {
			r.from = s.Offset
		}
		if s, ok := stops.Lookup(topic, p); ok && s.Offset >= 0 {
			r.to = min(r.to, s.Offset)
		}
		if r.from >= 0 && r.from < r.to {
			ranges[p] = r
		}
	}
	return ranges, nil
}
