package dlq

import (
	"context"
	"errors"
	"fmt"
	"maps"
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

// bounds are what Read holds: a window of letters per partition while it
// waits for the others to catch up (see merge), past which the partition's
// fetching pauses, and the fetch sizes (a fetch is held decompressed until
// it is polled, and the client reads one ahead).
type bounds struct {
	window           queued
	fetch, partition int32
}

// boundsFor returns the bounds of a read of partitions partitions. The
// partitions share a budget, but a window holds at least what a fetch of
// one partition brings in a common case (a compressed batch of some
// thousands of letters), or every fetch would be paused and fetched again.
func boundsFor(partitions int) bounds {
	n := max(1, partitions)
	return bounds{window: queued{letters: max(4096, 1<<17/n), bytes: max(4<<20, 64<<20/n)}, fetch: 1 << 20, partition: 1 << 20}
}

// fetchMaxWait is how long a broker may hold a fetch that has nothing yet.
const fetchMaxWait = 50 * time.Millisecond

// Read calls each with the dead letters of topic that f selects, oldest
// first (newest last), as it reads them: it holds at most a window of
// letters per partition (see merge), however many it reads. It joins no
// group and commits nothing. It reads only the offsets f's times can match,
// looked up by timestamp, and stops at the end offsets listed when it
// started, so dead letters written meanwhile are not waited for. With keep,
// each letter holds its source record, for Replay. An error from each
// stops the reading and is returned.
func Read(ctx context.Context, opts []kgo.Opt, topic string, f Filter, keep bool, each func(Letter) error) error {
	_, err := read(ctx, opts, topic, f, keep, boundsFor, each)
	return err
}

// read is Read within the bounds b gives for a number of partitions. It
// returns the most letters it held at once.
func read(ctx context.Context, opts []kgo.Opt, topic string, f Filter, keep bool, b func(int) bounds, each func(Letter) error) (int, error) {
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", topic, err)
	}
	ranges, err := offsetRanges(ctx, kadm.NewClient(cl), topic, f)
	cl.Close()
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", topic, err)
	}
	if len(ranges) == 0 {
		return 0, nil
	}
	start := map[int32]kgo.Offset{}
	for p, r := range ranges {
		start[p] = kgo.NewOffset().At(r.from)
	}
	bs := b(len(ranges))
	cl, err = kgo.NewClient(append(slices.Clip(opts),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: start}),
		// A partition may end in a transaction marker: kept, so that its
		// end is seen.
		kgo.KeepControlRecords(),
		kgo.FetchMaxBytes(bs.fetch), kgo.FetchMaxPartitionBytes(bs.partition),
		// Nothing is waited for past the end offsets: a fetch of partitions
		// at their end returns at once rather than hold up those resumed.
		kgo.FetchMaxWait(fetchMaxWait))...)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", topic, err)
	}
	defer cl.Close()
	r := &reader{topic: topic, f: f, keep: keep, ranges: ranges, m: newMerge(slices.Collect(maps.Keys(ranges)), bs.window),
		paused: map[int32]bool{}}
	err = r.run(ctx, cl, each)
	return r.m.peak, err
}

// reader is one Read: the partitions left to read, and their merge.
type reader struct {
	topic  string
	f      Filter
	keep   bool
	ranges map[int32]offsetRange // the partitions not yet read to their end
	m      *merge
	strs   interner
	paused map[int32]bool
	ended  []int32 // read to their end, and not yet paused
}

func (r *reader) run(ctx context.Context, cl *kgo.Client, each func(Letter) error) error {
	for {
		for l, ok := r.m.next(); ok; l, ok = r.m.next() {
			if err := each(l); err != nil {
				return err
			}
		}
		if r.m.done() {
			return nil
		}
		r.pause(cl)
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("read %s: %d partitions not read to the end: %w", r.topic, len(r.ranges), err)
		}
		var errs []error
		fs.EachError(func(_ string, p int32, err error) { errs = append(errs, fmt.Errorf("partition %d: %w", p, err)) })
		if len(errs) > 0 {
			return fmt.Errorf("read %s: %w", r.topic, errors.Join(errs...))
		}
		fs.EachRecord(r.add)
	}
}

// add queues rec in the merge, and ends its partition at the end offset
// captured at the start.
func (r *reader) add(rec *kgo.Record) {
	rg, ok := r.ranges[rec.Partition]
	if !ok || rec.Offset >= rg.to {
		return // past the end captured at the start
	}
	if !rec.Attrs.IsControl() {
		l := newLetter(rec, r.keep, &r.strs)
		r.m.add(l, len(rec.Key)+len(rec.Value), !r.f.Match(&l))
	}
	if rec.Offset+1 >= rg.to {
		delete(r.ranges, rec.Partition)
		r.m.end(rec.Partition)
		r.ended = append(r.ended, rec.Partition)
	}
}

// pause stops fetching the partitions read to their end and those whose
// queue is full, and resumes those that have room again. Records a fetch
// already held for a paused partition are fetched again when it resumes.
func (r *reader) pause(cl *kgo.Client) {
	stop, resume := r.ended, []int32(nil)
	r.ended = nil
	for p := range r.ranges {
		full := r.m.full(p)
		switch {
		case full && !r.paused[p]:
			stop = append(stop, p)
		case !full && r.paused[p]:
			resume = append(resume, p)
		}
		r.paused[p] = full
	}
	if len(stop) > 0 {
		cl.PauseFetchPartitions(map[string][]int32{r.topic: stop})
	}
	if len(resume) > 0 {
		cl.ResumeFetchPartitions(map[string][]int32{r.topic: resume})
	}
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
