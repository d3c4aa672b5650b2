package processor

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// Lag is the partition's end offset minus its committable offset: the
// records this member has not finished. When no committable offset is
// known (nothing committed for the group and nothing done yet), the lag is
// known only when nothing is pending: the member then sits at the end (0).
// Before the end offset is known, neither is the lag.
func (s PartitionStatus) Lag() (int64, bool) {
	switch {
	case s.HighWatermark < 0:
		return 0, false
	case s.Committable >= 0:
		return max(0, s.HighWatermark-s.Committable), true
	case s.Pending == 0:
		return 0, true
	default:
		return 0, false
	}
}

// Behind counts the partition's records before end that are not done: its
// lag as of a known end offset rather than the last fetched one.
func (s PartitionStatus) Behind(end int64) int64 {
	return max(0, end-max(s.Committable, 0))
}

// GroupPartitionLag is one partition's lag for a group, as the brokers
// report it: whatever member owns the partition, or none.
type GroupPartitionLag struct {
	Topic     string
	Partition int32
	// Start is the partition's first offset, End its last stable offset
	// (as far as a read-committed group gets).
	Start, End int64
	// Committed is the group's committed offset; -1 when it has none, and
	// then the lag counts from Start.
	Committed int64
	// Lag is End minus the offset the group resumes from.
	Lag int64
}

// From is the offset the group resumes from: its committed offset, or the
// partition's start when it has none (or the committed one was deleted).
func (g GroupPartitionLag) From() int64 { return max(g.Committed, g.Start) }

// GroupLag lists the lag of group on every partition of topics, sorted by
// topic (in the order given) and partition. It reads offsets only: the
// group need not have a live member, or exist at all.
func GroupLag(ctx context.Context, adm *kadm.Client, group string, topics ...string) ([]GroupPartitionLag, error) {
	starts, err := adm.ListStartOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("list start offsets: %w", err)
	}
	ends, err := adm.ListCommittedOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("list end offsets: %w", err)
	}
	committed, err := adm.FetchOffsetsForTopics(ctx, group, topics...)
	if err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
		return nil, fmt.Errorf("fetch committed offsets of group %s: %w", group, err)
	}
	var out []GroupPartitionLag
	for _, t := range topics {
		for _, p := range slices.Sorted(maps.Keys(ends[t])) {
			end := ends[t][p]
			if end.Err != nil {
				return nil, fmt.Errorf("end offset of %s/%d: %w", t, p, end.Err)
			}
			start, _ := starts.Lookup(t, p)
			g := GroupPartitionLag{Topic: t, Partition: p, Start: start.Offset, End: end.Offset, Committed: -1}
			if o, ok := committed.Lookup(t, p); ok && o.Err == nil && o.At >= 0 {
				g.Committed = o.At
			}
			g.Lag = max(0, g.End-g.From())
			out = append(out, g)
		}
	}
	return out, nil
}
