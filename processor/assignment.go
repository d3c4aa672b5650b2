package processor

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Config.OnAssigned learns, after every rebalance, how many of the source
// topics' partitions this member owns and how many there are (the retry
// topic is not counted): the sink divides each action's rate_limit by that
// share, so the members of a group together stay within it without talking
// to each other. The count of partitions comes from the brokers' metadata,
// read on a goroutine of its own so that a rebalance never waits for it.

// assignmentChanged asks the reporter to tell Config.OnAssigned again.
func (p *Processor) assignmentChanged() {
	select {
	case p.reassigned <- struct{}{}:
	default:
	}
}

// reportAssignment calls Config.OnAssigned after every change until ctx
// ends. When the metadata cannot be read, it tries again after
// assignmentRetry, keeping the last count it read.
func (p *Processor) reportAssignment(ctx context.Context, cl *kgo.Client) {
	adm := kadm.NewClient(cl)
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	total, last := 0, [2]int{-1, -1}
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.reassigned:
		case <-retry.C:
		}
		mctx, cancel := context.WithTimeout(ctx, assignmentRetry)
		n, err := p.sourcePartitions(mctx, adm)
		cancel()
		switch {
		case err != nil && ctx.Err() == nil:
			p.log.Debug("count the source partitions", "group", p.cfg.Group, "err", err)
			retry.Reset(assignmentRetry)
		case err == nil:
			total = n
		}
		if total == 0 {
			continue
		}
		if now := [2]int{min(p.ownedSource(), total), total}; now != last {
			last = now
			p.cfg.OnAssigned(now[0], now[1])
			p.log.Debug("assignment share", "group", p.cfg.Group, "owned", now[0], "total", now[1])
		}
	}
}

// assignmentRetry bounds a metadata request and spaces retries.
const assignmentRetry = time.Second

// ownedSource counts the source partitions this member holds.
func (p *Processor) ownedSource() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for tp := range p.parts {
		if tp.topic != p.cfg.RetryTopic {
			n++
		}
	}
	return n
}

// sourcePartitions counts the partitions of the source topics.
func (p *Processor) sourcePartitions(ctx context.Context, adm *kadm.Client) (int, error) {
	var topics []string
	for _, t := range p.cfg.Topics {
		if t != p.cfg.RetryTopic {
			topics = append(topics, t)
		}
	}
	details, err := adm.ListTopics(ctx, topics...)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, d := range details {
		if d.Err != nil {
			return 0, d.Err
		}
		n += len(d.Partitions)
	}
	return n, nil
}
