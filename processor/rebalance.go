package processor

import (
	"context"

	"github.com/twmb/franz-go/pkg/kgo"
)

// assigned starts a partition and its matcher for each newly assigned
// partition (cooperative-sticky passes only the additions).
func (p *Processor) assigned(_ context.Context, cl *kgo.Client, assigned map[string][]int32) {
	if len(assigned) == 0 {
		return
	}
	// A partition is revoked or lost before it can be assigned again; if
	// an old one is somehow still here, retire it first.
	p.release(assigned, "reassigned", false)

	p.mu.Lock()
	for topic, ids := range assigned {
		for _, id := range ids {
			part := p.newPartition(p.work, cl, topic, id)
			p.parts[topicPartition{topic, id}] = part
			part.start(p.newMatcher())
		}
	}
	p.mu.Unlock()
	// A pause belongs to the partition object that set it and is lifted
	// when that object closes; clearing here as well makes sure no
	// partition starts paused with nobody left to resume it.
	cl.ResumeFetchPartitions(assigned)
	p.assignmentChanged()
	p.partitionsChanged(cl)
	p.log.Info("partitions assigned", "group", p.cfg.Group, "partitions", assigned)
}

// revoked stops the revoked partitions' matchers, closes their ledgers so no
// late ack can mark them, and then commits what was marked, so the next
// owner starts right after the last record done here.
func (p *Processor) revoked(ctx context.Context, cl *kgo.Client, revoked map[string][]int32) {
	if n := p.release(revoked, "revoked", true); n > 0 {
		p.assignmentChanged()
		p.log.Info("partitions revoked", "group", p.cfg.Group, "partitions", revoked)
		p.partitionsChanged(cl)
	}
	if err := cl.CommitMarkedOffsets(ctx); err != nil {
		p.log.Error("commit on revoke", "group", p.cfg.Group, "err", err)
	}
}

// lost is revoked without the commit: the group has moved on and another
// member may already own these partitions.
func (p *Processor) lost(_ context.Context, cl *kgo.Client, lost map[string][]int32) {
	p.release(lost, "lost", false)
	p.assignmentChanged()
	p.partitionsChanged(cl)
	p.log.Warn("partitions lost", "group", p.cfg.Group, "partitions", lost)
}

// release removes the given partitions, stops their matchers, waits for
// them, and closes their ledgers, marking their commit points a last time
// when publish is set. What those partitions still had in the sink may be
// delivered later, but is never marked: their next owner delivers it again
// from the committed offset (at-least-once). It returns how many partitions
// it released.
func (p *Processor) release(tps map[string][]int32, why string, publish bool) int {
	var parts []*partition
	p.mu.Lock()
	for topic, ids := range tps {
		for _, id := range ids {
			key := topicPartition{topic, id}
			if part := p.parts[key]; part != nil {
				parts = append(parts, part)
				delete(p.parts, key)
			}
		}
	}
	p.mu.Unlock()
	for _, part := range parts {
		part.stop()
	}
	for _, part := range parts {
		part.wait()
		part.cp.close(publish)
		p.log.Debug("partition released", "topic", part.topic, "partition", part.id, "why", why)
	}
	return len(parts)
}
