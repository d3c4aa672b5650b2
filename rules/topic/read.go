package topic

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ErrNoTopic is returned by Read when the rules topic does not exist.
var ErrNoTopic = errors.New("rules topic does not exist")

// consumeOpts are the options of every client that reads the rules topic:
// every partition from the start, no group; committed records only, with
// the control records kept so that a partition ending in a transaction
// marker is still seen to its end. The caller's options come first (seed
// brokers, TLS, SASL, logger); these win.
func consumeOpts(opts []kgo.Opt, topic string) []kgo.Opt {
	return append(slices.Clip(opts),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
	)
}

// progress tracks, per partition, the end offset to reach before the topic
// counts as read.
type progress map[int32]int64

// endOffsets returns, for each partition of topic holding records, its end
// offset (one past its last record). A topic that does not exist is an
// error wrapping kerr.UnknownTopicOrPartition.
func endOffsets(ctx context.Context, adm *kadm.Client, topic string) (progress, error) {
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("list end offsets of %s: %w", topic, err)
	}
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("list start offsets of %s: %w", topic, err)
	}
	if err := errors.Join(ends.Error(), starts.Error()); err != nil {
		return nil, fmt.Errorf("list offsets of %s: %w", topic, err)
	}
	if len(ends[topic]) == 0 {
		return nil, fmt.Errorf("list offsets of %s: %w", topic, kerr.UnknownTopicOrPartition)
	}
	p := progress{}
	for id, end := range ends[topic] {
		start, _ := starts.Lookup(topic, id)
		if end.Offset > start.Offset {
			p[id] = end.Offset
		}
	}
	return p, nil
}

// seen records that the record at offset of partition was read.
func (p progress) seen(partition int32, offset int64) {
	if end, ok := p[partition]; ok && offset+1 >= end {
		delete(p, partition)
	}
}

// done reports whether every partition was read to its end.
func (p progress) done() bool { return len(p) == 0 }

// Read returns the actions on the rules topic: the latest value of every
// key, read up to the end offsets listed when it started. Tombstoned keys
// are absent. Values are returned as written, not checked. A topic that
// does not exist is ErrNoTopic.
func Read(ctx context.Context, opts []kgo.Opt, topic string) (map[string][]byte, error) {
	cl, err := kgo.NewClient(consumeOpts(opts, topic)...)
	if err != nil {
		return nil, fmt.Errorf("read rules topic %s: %w", topic, err)
	}
	defer cl.Close()
	want, err := endOffsets(ctx, kadm.NewClient(cl), topic)
	if errors.Is(err, kerr.UnknownTopicOrPartition) {
		return nil, fmt.Errorf("read rules topic %s: %w", topic, ErrNoTopic)
	}
	if err != nil {
		return nil, fmt.Errorf("read rules topic %s: %w", topic, err)
	}
	values := map[string][]byte{}
	for !want.done() {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("read rules topic %s: %d partitions not read to the end: %w", topic, len(want), err)
		}
		var errs []error
		fs.EachError(func(t string, p int32, err error) {
			errs = append(errs, fmt.Errorf("partition %d: %w", p, err))
		})
		if len(errs) > 0 {
			return nil, fmt.Errorf("read rules topic %s: %w", topic, errors.Join(errs...))
		}
		fs.EachRecord(func(r *kgo.Record) {
			want.seen(r.Partition, r.Offset)
			switch {
			case r.Attrs.IsControl(), len(r.Key) == 0: // not an action
			case r.Value == nil:
				delete(values, string(r.Key))
			default:
				values[string(r.Key)] = r.Value
			}
		})
	}
	return values, nil
}
