package processor

import (
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// PartitionStatus is what the member knows of one assigned partition, for
// lag metrics and the status page.
type PartitionStatus struct {
	Topic     string
	Partition int32
	// HighWatermark is the partition's end offset as of the last fetch;
	// -1 before the first fetch answered.
	HighWatermark int64
	// Committable is the offset the next commit carries for this
	// partition: right after its longest prefix of done records. Until a
	// record is done since the partition was assigned, it is the offset
	// last committed or, when none is known (a new group), the offset of
	// the first record fetched, where a restart would resume; -1 before
	// either is known.
	Committable int64
	// Pending counts records fetched and not yet done; Queued those of them
	// not yet processed.
	Pending, Queued int
	// Oldest is the timestamp of the oldest record not yet done; zero when
	// none is pending.
	Oldest time.Time
}

// Partitions returns the status of every assigned partition, sorted by
// topic and partition. A partition no fetch has reported on yet gets its
// end offset from the brokers, listed at most every two seconds (see
// endoffsets.go).
func (p *Processor) Partitions() []PartitionStatus {
	return p.ends.fill(p.partitions())
}

// partitions is Partitions with the end offsets the fetches reported.
func (p *Processor) partitions() []PartitionStatus {
	parts := p.snapshot()
	var committed map[string]map[int32]kgo.EpochOffset
	if cl := p.client.Load(); cl != nil {
		committed = cl.CommittedOffsets()
	}
	out := make([]PartitionStatus, 0, len(parts))
	for _, part := range parts {
		st := part.cp.state()
		next := st.next.Offset
		if eo, ok := committed[part.topic][part.id]; ok && next < 0 {
			next = eo.Offset
		}
		if next < 0 {
			next = part.cp.firstOpen()
		}
		out = append(out, PartitionStatus{
			Topic:         part.topic,
			Partition:     part.id,
			HighWatermark: part.hwm.Load(),
			Committable:   next,
			Pending:       st.open,
			Queued:        st.queued,
			Oldest:        st.oldest,
		})
	}
	slices.SortFunc(out, func(a, b PartitionStatus) int {
		if c := strings.Compare(a.Topic, b.Topic); c != 0 {
			return c
		}
		return int(a.Partition - b.Partition)
	})
	return out
}

// Assigned returns the partitions this member owns now, by topic.
func (p *Processor) Assigned() map[string][]int32 {
	m := p.all()
	for _, ids := range m {
		slices.Sort(ids)
	}
	return m
}

// OldestPending returns the timestamp of the oldest record fetched and not
// yet done on any partition, or the zero time when none is pending.
func (p *Processor) OldestPending() time.Time {
	var oldest time.Time
	for _, part := range p.snapshot() {
		if t := part.cp.state().oldest; !t.IsZero() && (oldest.IsZero() || t.Before(oldest)) {
			oldest = t
		}
	}
	return oldest
}

// Buffered returns the records fetched and not yet done, across partitions;
// it never exceeds Config.MaxBuffered.
func (p *Processor) Buffered() int { return p.budget.used() }

// Joining reports whether Run has got past Config.Ready and created the
// group member (which may still be joining the group).
func (p *Processor) Joining() bool { return p.client.Load() != nil }

// InHand is what the member holds against its bounds: the records fetched
// and not yet done (polled, processing, waiting in a batch, in a request,
// on their way to the dead-letter or retry topic) and their values' bytes.
type InHand struct {
	Events    int   // records
	MaxEvents int   // Config.MaxBuffered
	Bytes     int64 // bytes of their values
	MaxBytes  int64 // Config.MaxBufferedBytes
	// PeakBytes is the most Bytes has been since Run started. It exceeds
	// MaxBytes only when a single record larger than the bound was taken
	// with nothing else in hand.
	PeakBytes int64
}

// InHand returns what the member holds now against its bounds.
func (p *Processor) InHand() InHand {
	return InHand{
		Events: p.budget.used(), MaxEvents: p.bounds.events,
		Bytes: p.budget.bytes.Load(), MaxBytes: p.bounds.bytes, PeakBytes: p.budget.peak.Load(),
	}
}

// firstOpen returns the offset of the oldest record the commit point has
// not passed, or -1 when the ledger holds none.
func (c *checkpoint) firstOpen() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.size == 0 || c.closed {
		return -1
	}
	return c.ring[c.head].offset
}
