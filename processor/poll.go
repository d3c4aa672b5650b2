package processor

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kgo"
)

// poll is the poll loop: it takes as many records as the budget has room
// for and hands each partition's records to that partition's matcher. It
// never waits on a partition; it waits only for room in the budget and for
// the matchers to be within a poll of done, and returns when ctx ends.
func (p *Processor) poll(ctx context.Context, cl *kgo.Client) {
	var avg int64 // value bytes per record in the last poll
	for {
		if !p.budget.wait(ctx) {
			return
		}
		// Fetch no further ahead of the matchers than one poll: they have
		// that much in hand, and the budget is left for what the sink holds.
		if !p.budget.waitProcessed(ctx, p.maxPoll) {
			return
		}
		fs := cl.PollRecords(ctx, pollCount(p.budget.usage(), p.bounds, p.maxPoll, avg))
		if ctx.Err() != nil {
			cl.AllowRebalance()
			return // anything just polled is not handed off, so not committed
		}
		closed := false
		fs.EachError(func(topic string, id int32, err error) {
			if errors.Is(err, kgo.ErrClientClosed) {
				closed = true
				return
			}
			p.log.Warn("fetch", "topic", topic, "partition", id, "err", err)
		})
		if n := fs.NumRecords(); n > 0 {
			var bytes int64
			fs.EachRecord(func(r *kgo.Record) { bytes += int64(len(r.Value)) })
			avg = max(1, bytes/int64(n))
		}
		fs.EachPartition(p.handOff)
		cl.AllowRebalance()
		if closed {
			return
		}
	}
}

// handOff gives one partition's polled records to its matcher, with the
// limits the policy sets it now (partitionLimits).
func (p *Processor) handOff(fp kgo.FetchTopicPartition) {
	p.mu.Lock()
	part := p.parts[topicPartition{fp.Topic, fp.Partition}]
	p.mu.Unlock()
	if part == nil {
		return // no longer ours; its next owner reads it from the committed offset
	}
	part.hwm.Store(fp.HighWatermark)
	if len(fp.Records) == 0 {
		return
	}
	lim := partitionLimits(p.bounds, p.minPoll, int(p.sources.Load()), p.budget.usage())
	if part.enqueue(fp.Records, lim) {
		p.metrics.EventsConsumed.Add(context.Background(), int64(len(fp.Records)), part.topicOpt)
	}
}
