package sink

// The retry topic: how a parked event is written there, how the group's
// progress on it is watched, and how a record read back from it finds its
// action and its source record again.

import (
	"context"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
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

// parkRecord is the retry-topic record of one event of action: the source
// record's value and headers, keyed by the action id so that all of the
// action's parked events share one partition and keep their order, with
// headers naming the action and the source.
func parkRecord(topic, action string, it item) *kgo.Record {
	src := it.rec
	if src == nil {
		src = &kgo.Record{Value: it.body, Partition: -1, Offset: -1}
	}
	out := &kgo.Record{Topic: topic, Key: []byte(action), Value: src.Value, Timestamp: src.Timestamp,
		Headers: make([]kgo.RecordHeader, 0, len(src.Headers)+6)}
	for _, h := range src.Headers {
		if !ownHeader(h.Key) {
			out.Headers = append(out.Headers, h)
		}
	}
	add := func(k, v string) { out.Headers = append(out.Headers, kgo.RecordHeader{Key: k, Value: []byte(v)}) }
	add(HeaderAction, action)
	add(HeaderSourceTopic, src.Topic)
	add(HeaderSourcePartition, strconv.Itoa(int(src.Partition)))
	add(HeaderSourceOffset, strconv.FormatInt(src.Offset, 10))
	if src.Key != nil {
		add(HeaderSourceKey, string(src.Key))
	}
	if !src.Timestamp.IsZero() {
		add(HeaderSourceTimestamp, strconv.FormatInt(src.Timestamp.UnixMilli(), 10))
	}
	return out
}

// sourceOf returns the source record of a parked event read back from the
// retry topic — topic, partition, offset, key, headers and timestamp as
// they were — so that its Idempotency-Key, trace links, latency and any
// dead letter are the source event's. Any other record is returned as is;
// so are the retry record's own coordinates when a header is missing.
func (s *Sink) sourceOf(rec *kgo.Record) *kgo.Record {
	if rec == nil || rec.Topic != s.retryTopic() {
		return rec
	}
	src := &kgo.Record{Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset, Value: rec.Value,
		Timestamp: rec.Timestamp, LeaderEpoch: -1, Context: rec.Context, Headers: make([]kgo.RecordHeader, 0, len(rec.Headers))}
	for _, h := range rec.Headers {
		v := string(h.Value)
		switch h.Key {
		case HeaderSourceTopic:
			src.Topic = v
		case HeaderSourcePartition:
			if p, err := strconv.ParseInt(v, 10, 32); err == nil {
				src.Partition = int32(p)
			}
		case HeaderSourceOffset:
			if o, err := strconv.ParseInt(v, 10, 64); err == nil {
				src.Offset = o
			}
		case HeaderSourceKey:
			src.Key = h.Value
		case HeaderSourceTimestamp:
			if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
				src.Timestamp = time.UnixMilli(ms)
			}
		default:
			if !ownHeader(h.Key) {
				src.Headers = append(src.Headers, h)
			}
		}
	}
	return src
}

// lane returns the runner an event goes through and its record: a parked
// event read back from the retry topic goes through the action's retry
// lane, with its source record restored; any other event through r.
//
// The retry lane delivers with the action's breaker and settings but never
// parks: its events already come from the retry topic, and writing them
// there again while the endpoint is down would spin. Instead, while the
// endpoint is down, the lane holds them, and the processor, whose records
// they are, pauses the retry partition once it holds its share: only that
// partition waits, not the source partitions.
func (s *Sink) lane(r *runner, rec *kgo.Record) (*runner, *kgo.Record, error) {
	if rec == nil || rec.Topic != s.retryTopic() {
		return r, rec, nil
	}
	src := s.sourceOf(rec)
	if l := r.lane.Load(); l != nil {
		return l, src, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, nil, ErrClosed
	}
	l := r.lane.Load()
	if l == nil {
		l = newRunner(s, r.id)
		if l.pk != nil {
			l.pk.stopWait()
		}
		l.src, l.br, l.ep, l.ages, l.pk = r, r.br, r.ep, r.ages, nil
		l.from = &partitionCount{r: l, n: map[topicPartition]int{}}
		r.lane.Store(l)
		s.wg.Go(func() { l.run(s.ctx) })
	}
	return l, src, nil
}
