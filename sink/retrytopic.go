package sink

// The retry topic: how the group's progress on it is watched, and the lane
// that delivers the parked events read back from it. The records' format
// is internal/deadletter's.

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// watchRetry reads the group's committed offsets on the retry topic every
// parkCheckEvery until ctx ends, and hands them to the parked action.
func (s *Sink) watchRetry(ctx context.Context, pk *parking) {
	adm := kadm.NewClient(s.cfg.Producer)
	topic := s.retryTopic()
	t := time.NewTicker(parkCheckEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
		fctx, cancel := context.WithTimeout(ctx, parkCheckTimeout)
		resp, err := adm.FetchOffsetsForTopics(fctx, s.cfg.Group, topic)
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				s.log.Debug("read committed offsets of the retry topic", "group", s.cfg.Group, "topic", topic, "error", err)
			}
			continue
		}
		m := make(map[int32]int64, len(resp[topic]))
		for p, o := range resp[topic] {
			if o.Err == nil {
				m[p] = o.At
			}
		}
		pk.committed.Store(&m)
		pk.poke()
	}
}

// lane returns the action's retry lane, which delivers the parked events
// read back from the retry topic, starting it on first use.
//
// The retry lane delivers with the action's breaker and settings but never
// parks: its events already come from the retry topic, and writing them
// there again while the endpoint is down would spin. Instead, while the
// endpoint is down, the lane holds them, and the processor, whose records
// they are, pauses the retry partition once it holds its share: only that
// partition waits, not the source partitions.
func (s *Sink) lane(r *runner) (*runner, error) {
	if l := r.lane.Load(); l != nil {
		return l, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	l := r.lane.Load()
	if l == nil {
		l = newRunner(s, r.id)
		if l.pk != nil {
			l.pk.stopWait()
		}
		l.src, l.br, l.ep, l.ages, l.pk, l.waiting = r, r.br, r.ep, r.ages, nil, nil
		l.from = &partitionCount{r: l, n: map[topicPartition]int{}}
		r.lane.Store(l)
		s.wg.Go(func() { l.run(s.ctx) })
	}
	return l, nil
}
