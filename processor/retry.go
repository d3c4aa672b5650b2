package processor

import (
	"errors"
	"fmt"

	"github.com/hookstream/hookstream/internal/deadletter"
	"github.com/hookstream/hookstream/rules"
)

// handleParked processes one record of the retry topic: an event parked by
// an action whose endpoint was failing. It is delivered to that action
// only — it matched when it was first read, and each action that parked
// the record wrote a copy of its own — in the action's current version: the
// payload and URL are rendered again from the record's value, which is the
// source record's. The sink gets the source record the parked one carries
// (internal/deadletter.Decode) through SendParked, which delivers it
// through the action's retry lane without ever parking it again, and uses
// the source coordinates for the Idempotency-Key and any dead letter. The
// parked record's own offset is committed by the same rule as a source
// record's: once the sink called Done.
//
// A parked event whose action no longer exists or is disabled is
// dead-lettered with reason rejected rather than delivered with a version
// this worker may never have known: deleting or disabling an action says
// its deliveries should stop, and the dead-letter topic keeps the event,
// with its source coordinates, for whoever wants to replay it.
func (m *matcher) handleParked(part *partition, s *slot) {
	parked := deadletter.Decode(s.rec)
	rec, id := parked.Source, parked.Action
	ctx := part.ctx
	part.cp.settle(s, 1)
	a := m.rules.Load().Get(id)
	switch {
	case id == "":
		m.sink.DeadLetter(ctx, rec, deadletter.ReasonRejected, "", errors.New("parked event names no action"), s)
		return
	case a == nil:
		m.sink.DeadLetter(ctx, rec, deadletter.ReasonRejected, id, fmt.Errorf("parked event of action %s: the action no longer exists", id), s)
		return
	case a.Enabled != nil && !*a.Enabled:
		m.sink.DeadLetter(ctx, rec, deadletter.ReasonRejected, id, fmt.Errorf("parked event of action %s: the action is disabled", id), s)
		return
	}
	if err := rules.Decode(rec.Value, m.maxBytes, &m.ev); err != nil {
		m.sink.DeadLetter(ctx, rec, poisonReason(err), id, err, s)
		return
	}
	url, body, err := a.Render(&m.ev, rec.Value, &m.vm, nil)
	if err != nil {
		m.sink.DeadLetter(ctx, rec, deadletter.ReasonMapping, id, err, s)
		return
	}
	if err := m.sink.SendParked(ctx, a, url, body, rec, s); err != nil && ctx.Err() == nil {
		// The record stays not done, so the retry partition's commit
		// point stays before it.
		m.log.Error("send parked event to sink", "topic", part.topic, "partition", part.id,
			"offset", s.offset, "action", id, "err", err)
	}
}
