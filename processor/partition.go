package processor

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// partition is one assigned partition: its ledger and the goroutine that
// processes its records. It lives from OnPartitionsAssigned until the
// partition is revoked or lost, or the processor shuts down; a partition
// assigned again gets a new one.
type partition struct {
	topic    string
	id       int32
	parked   bool // a partition of the retry topic: its records are parked events (retry.go)
	cp       *checkpoint
	hwm      atomic.Int64 // high watermark from the last fetch; -1 before
	topicOpt metric.AddOption

	ctx        context.Context // ends on revoke, loss, or the shutdown deadline
	cancel     context.CancelFunc
	wake       chan struct{} // records were handed off
	finishing  chan struct{} // closed at shutdown: process the queue, then exit
	finishOnce sync.Once
	exited     chan struct{}
}

// newPartition builds the partition and its ledger; start runs its matcher.
// The ledger marks its commit point on cl, pauses the partition's fetches
// when it holds too much, and resumes them when it drains.
func (p *Processor) newPartition(parent context.Context, cl *kgo.Client, topic string, id int32) *partition {
	part := &partition{
		topic:     topic,
		id:        id,
		parked:    topic == p.cfg.RetryTopic,
		topicOpt:  metric.WithAttributeSet(attribute.NewSet(attribute.String("topic", topic))),
		wake:      make(chan struct{}, 1),
		finishing: make(chan struct{}),
		exited:    make(chan struct{}),
	}
	part.hwm.Store(-1)
	part.ctx, part.cancel = context.WithCancel(parent)

	// Both maps are built once and only read by kgo; the ledger's lock
	// serialises the writes to marks.
	marks := map[string]map[int32]kgo.EpochOffset{topic: {id: {}}}
	self := map[string][]int32{topic: {id}}
	part.cp = newCheckpoint(p.budget, checkpointHooks{
		mark: func(next kgo.EpochOffset) {
			marks[topic][id] = next
			cl.MarkCommitOffsets(marks)
		},
		pause:  func() { cl.PauseFetchPartitions(self) },
		resume: func() { cl.ResumeFetchPartitions(self) },
	})
	// What the partition handed to the sink and the sink has not sent yet
	// is withdrawn once the partition is released (its slots report
	// Withdrawn): its next owner delivers it from the committed offset, and
	// sending it here too would only make a duplicate.
	context.AfterFunc(part.ctx, part.cp.withdraw)
	return part
}

// start runs the matcher until the partition is stopped or finished.
func (part *partition) start(m *matcher) {
	go func() {
		defer close(part.exited)
		m.run(part)
	}()
}

// enqueue gives recs to the matcher; false if the partition is already closed.
func (part *partition) enqueue(recs []*kgo.Record, lim limits) bool {
	if !part.cp.add(recs, lim) {
		return false
	}
	select {
	case part.wake <- struct{}{}:
	default:
	}
	return true
}

// stop makes the matcher return as soon as it can, dropping its queue; a
// Send blocked on a full action queue returns too.
func (part *partition) stop() { part.cancel() }

// finish makes the matcher process what it holds and then return.
func (part *partition) finish() { part.finishOnce.Do(func() { close(part.finishing) }) }

// wait returns once the matcher has returned: no Send or DeadLetter from
// this partition can start after it.
func (part *partition) wait() { <-part.exited }
