package processor

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kgo"
)

// maxPoll caps the records taken in one poll, so one poll's hand-off stays
// short and the partitions' workers start early.
const maxPoll = 10_000

// poll is the poll loop: it takes as many records as the budget has room
// for and hands each partition's records to that partition's worker. It
// never waits on a partition; it waits only for room in the budget and for
// the workers to be within a poll of done, and returns when ctx ends.
func (p *Processor) poll(ctx context.Context, cl *kgo.Client) {
	for {
		if p.budget.room() < p.minPoll && !p.budget.wait(ctx, p.minPoll) {
			return
		}
		// Fetch no further ahead of the workers than one poll: they have
		// that much in hand, and the budget is left for what the sink holds.
		if !p.budget.waitProcessed(ctx, p.maxPoll) {
			return
		}
		fs := cl.PollRecords(ctx, min(p.budget.room(), p.maxPoll))
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
		fs.EachPartition(p.handOff)
		cl.AllowRebalance()
		if closed {
			return
		}
	}
}

// handOff gives one partition's polled records to its worker.
//
// A paused partition rejoins only the next fetch, and a fetch whose other
// partitions are all idle is held by the broker for the whole fetch wait:
// every needless pause costs up to fetchMaxWait of nothing. So the share of
// the budget a partition may hold applies only once half the budget is in
// use, when partitions actually compete for it (a stuck partition still
// stops at half the budget plus a poll); and the shares are counted over
// the source partitions only, since the retry topic's are idle nearly
// always and would otherwise halve every share.
func (p *Processor) handOff(fp kgo.FetchTopicPartition) {
	p.mu.Lock()
	part := p.parts[topicPartition{fp.Topic, fp.Partition}]
	sources := 0
	for tp := range p.parts {
		if tp.topic != p.cfg.RetryTopic {
			sources++
		}
	}
	lim := p.partitionLimits(sources)
	p.mu.Unlock()
	if p.budget.used() < p.cfg.MaxBuffered/2 {
		lim.open = max(lim.open, p.cfg.MaxBuffered)
	}
	if part == nil {
		return // no longer ours; its next owner reads it from the committed offset
	}
	part.hwm.Store(fp.HighWatermark)
	if len(fp.Records) == 0 {
		return
	}
	if part.handOff(fp.Records, lim) {
		p.metrics.EventsConsumed.Add(context.Background(), int64(len(fp.Records)), part.topicOpt)
	}
}
