package processor

import (
	"errors"
	"fmt"

	"github.com/hookstream/hookstream/rules"
	"github.com/twmb/franz-go/pkg/kgo"
)

// headerAction names the action a parked event belongs to (SPEC §4). The
// sink writes it, with the source record's value and headers, when an
// action parks.
const headerAction = "hookstream-action"

// reasonRejected is the dead-letter reason of a parked event whose action
// is gone.
const reasonRejected = "rejected"

// handleParked processes one record of the retry topic: an event parked by
// an action whose endpoint was failing. It is delivered to that action
// only — it matched when it was first read, and each action that parked
// the record wrote a copy of its own — in the action's current version: the
// payload and URL are rendered again from the record's value, which is the
// source record's. The record is handed to the sink as it is; the sink
// recognises the retry topic, delivers it through the action's retry lane
// without ever parking it again, and uses the source coordinates it
// carries for the Idempotency-Key and any dead letter. Its offset is
// committed by the same rule as a source record's: once the sink called
// done.
//
// A parked event whose action no longer exists or is disabled is
// dead-lettered with reason rejected rather than delivered with a version
// this worker may never have known: deleting or disabling an action says
// its deliveries should stop, and the dead-letter topic keeps the event,
// with its source coordinates, for whoever wants to replay it.
func (w *worker) handleParked(part *partition, s *slot) {
	rec := s.rec
	ctx := part.ctx
	id := parkedAction(rec)
	part.cp.settle(s, 1)
	a := w.rules.Load().Get(id)
	switch {
	case id == "":
		w.sink.DeadLetter(ctx, rec, reasonRejected, "", errors.New("parked event names no action"), s.done)
		return
	case a == nil:
		w.sink.DeadLetter(ctx, rec, reasonRejected, id, fmt.Errorf("parked event of action %s: the action no longer exists", id), s.done)
		return
	case a.Enabled != nil && !*a.Enabled:
		w.sink.DeadLetter(ctx, rec, reasonRejected, id, fmt.Errorf("parked event of action %s: the action is disabled", id), s.done)
		return
	}
	if err := rules.Decode(rec.Value, w.maxBytes, &w.ev); err != nil {
		reason := rules.ReasonDecode
		if pe, ok := errors.AsType[*rules.PoisonError](err); ok {
			reason = pe.Reason
		}
		w.sink.DeadLetter(ctx, rec, reason, id, err, s.done)
		return
	}
	url, body, err := a.Render(&w.ev, rec.Value, &w.vm, nil)
	if err != nil {
		w.sink.DeadLetter(ctx, rec, rules.ReasonMapping, id, err, s.done)
		return
	}
	if err := w.sink.Send(ctx, a, url, body, rec, s.done); err != nil && ctx.Err() == nil {
		// The record stays not done, so the retry partition's commit
		// point stays before it.
		w.log.Error("send parked event to sink", "topic", rec.Topic, "partition", rec.Partition,
			"offset", rec.Offset, "action", id, "err", err)
	}
}

// parkedAction returns the action a parked record names, or "".
func parkedAction(rec *kgo.Record) string {
	for _, h := range rec.Headers {
		if h.Key == headerAction {
			return string(h.Value)
		}
	}
	return ""
}
