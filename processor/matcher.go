package processor

import (
	"context"
	"errors"
	"log/slog"

	"github.com/expr-lang/expr/vm"
	"github.com/hookstream/hookstream/internal/deadletter"
	"github.com/hookstream/hookstream/internal/telemetry"
	"github.com/hookstream/hookstream/rules"
)

// matcher does one partition's CPU work: decode each record once, evaluate
// every trigger on that one decoded event, render and hand over each match.
// Its Event, VM and match list are reused from record to record, so the hot
// path allocates only what the rules themselves need.
type matcher struct {
	rules    *rules.Store
	sink     Sink
	maxBytes int
	log      *slog.Logger
	metrics  *telemetry.Metrics

	ev      rules.Event
	vm      vm.VM
	matches []*rules.Compiled
	matched map[string]int64 // per action, flushed to metrics after each batch
	failed  map[string]int64 // trigger errors per action, likewise
	onErr   func(*rules.Compiled, error)
}

func (p *Processor) newMatcher() *matcher {
	m := &matcher{
		rules:    p.cfg.Rules,
		sink:     p.cfg.Sink,
		maxBytes: p.cfg.MaxEventBytes,
		log:      p.log,
		metrics:  p.metrics,
		matched:  make(map[string]int64),
		failed:   make(map[string]int64),
	}
	// Made once, so matching a record allocates no closure. A trigger
	// that fails at run time does not match and is counted.
	m.onErr = func(a *rules.Compiled, _ error) { m.failed[a.ID]++ }
	return m
}

// run processes part's records in order until part is stopped, or finished
// at shutdown.
func (m *matcher) run(part *partition) {
	defer m.flushCounts()
	var batch []*slot
	for {
		batch = part.cp.take(batch)
		if len(batch) == 0 {
			select {
			case <-part.wake:
				continue
			case <-part.ctx.Done():
				return
			case <-part.finishing:
				// The poll loop has stopped: what is queued now is all.
				if batch = part.cp.take(batch); len(batch) == 0 {
					return
				}
			}
		}
		for i, s := range batch {
			if part.ctx.Err() != nil {
				return
			}
			m.handle(part, s)
			batch[i] = nil
		}
		m.flushCounts()
	}
}

// handle processes one record: a poison record is dead-lettered; otherwise
// it is matched against the rules as they are now (one Set for the whole
// record, so a rules change applies between records, never within one), and
// each match rendered and sent. The record is done when every hand-over is.
func (m *matcher) handle(part *partition, s *slot) {
	if part.parked {
		m.handleParked(part, s)
		return
	}
	rec := s.rec // s.rec is cleared when done; never read it after settle
	ctx := part.ctx
	set := m.rules.Load()
	// Lazily: object fields are built only if a trigger or mapping reads them.
	if err := set.Decode(rec.Value, m.maxBytes, &m.ev); err != nil {
		part.cp.settle(s, 1)
		m.sink.DeadLetter(ctx, rec, poisonReason(err), "", err, s)
		return
	}
	m.matches = set.Match(&m.ev, &m.vm, m.matches[:0], m.onErr)
	part.cp.settle(s, len(m.matches))
	for _, a := range m.matches {
		m.matched[a.ID]++
		// A nil buffer: with a payload mapping, Render allocates a fresh
		// body, which must stay untouched until the sink calls Done.
		// Without one it returns rec.Value itself.
		url, body, err := a.Render(&m.ev, rec.Value, &m.vm, nil)
		if err != nil {
			m.sink.DeadLetter(ctx, rec, deadletter.ReasonMapping, a.ID, err, s) // a *rules.MappingError naming the action and field
			continue
		}
		if err := m.sink.Send(ctx, a, url, body, rec, s); err != nil {
			if ctx.Err() == nil {
				// The record stays not done, so its partition's
				// commit point stays before it.
				m.log.Error("send to sink", "topic", rec.Topic, "partition", rec.Partition,
					"offset", rec.Offset, "action", a.ID, "err", err)
			}
			return
		}
	}
}

// poisonReason is the dead-letter reason of a record Decode refused.
func poisonReason(err error) deadletter.Reason {
	if pe, ok := errors.AsType[*rules.PoisonError](err); ok {
		return pe.Reason
	}
	return deadletter.ReasonDecode
}

// flushCounts adds the per-action counts gathered since the last flush.
func (m *matcher) flushCounts() {
	ctx := context.Background()
	for id, n := range m.matched {
		m.metrics.EventsMatched.Add(ctx, n, telemetry.Action(id))
	}
	for id, n := range m.failed {
		m.metrics.TriggerErrors.Add(ctx, n, telemetry.Action(id))
	}
	clear(m.matched)
	clear(m.failed)
}
