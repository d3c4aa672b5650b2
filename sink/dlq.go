package sink

import (
	"context"
	"errors"

	"github.com/hookstream/hookstream/internal/deadletter"
	"github.com/hookstream/hookstream/processor"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// letter says why events are dead-lettered.
type letter struct {
	reason   deadletter.Reason
	action   string
	status   int // HTTP status, 0 if none
	cause    error
	attempts int
}

// DeadLetter writes rec, a source record, to the dead-letter topic with
// reason, the action id (may be empty) and cause; ack.Done is called once
// the write is acknowledged. Failed writes are retried with backoff until
// ctx ends or the Sink closes; ack is never done for a write that did not
// happen. Done runs on the producer's callback goroutine. The record's
// format is internal/deadletter's.
func (s *Sink) DeadLetter(ctx context.Context, rec *kgo.Record, reason deadletter.Reason, action string, cause error, ack processor.Ack) {
	s.writeDead(ctx, item{rec: rec, ack: ack, gen: s.track.add()}, letter{reason: reason, action: action, cause: cause})
}

// deadLetter writes each event of b to the dead-letter topic.
func (r *runner) deadLetter(b *batch, reason deadletter.Reason, o outcome) {
	r.s.log.Warn("dead-lettering events", "action", r.id, "reason", reason, "events", len(b.items),
		"status", o.status, "error", o.err, "attempts", b.attempts)
	for _, it := range b.items {
		r.s.writeDead(r.s.ctx, it, letter{reason: reason, action: r.id, status: o.status, cause: o.err, attempts: b.attempts})
	}
}

// writeDead writes it's dead letter and finishes it once acknowledged. A
// write whose context ended is abandoned: its event is not done, only no
// longer awaited.
func (s *Sink) writeDead(ctx context.Context, it item, l letter) {
	dl := deadletter.Letter{Reason: l.reason, Action: l.action, Status: l.status, Attempts: l.attempts}
	if l.cause != nil {
		dl.Error = l.cause.Error()
	}
	s.writer.write(&write{
		ctx:    ctx,
		rec:    deadletter.Encode(s.dlqTopic, it.source(), dl),
		failed: dropTooLarge,
		log:    []any{"action", l.action, "reason", l.reason},
		done: func(_ *kgo.Record, err error) {
			if err != nil {
				s.abandon(it)
				return
			}
			s.metrics.EventsDeadLettered.Add(context.Background(), 1, metric.WithAttributeSet(
				attribute.NewSet(attribute.String("action", l.action), attribute.String("reason", string(l.reason)))))
			if s.cfg.DeadLettered != nil {
				s.cfg.DeadLettered(dl)
			}
			s.done(it)
		},
	})
}

// dropTooLarge retries a dead letter the topic refused as too large at
// once without its value (a too_large event, or a broker with a smaller
// max.message.bytes): retrying as it is would hold the source partition
// for good. Any other failure is retried after a backoff.
func dropTooLarge(rec *kgo.Record, err error) (again, now bool) {
	if errors.Is(err, kerr.MessageTooLarge) && deadletter.DropValue(rec) {
		return true, true
	}
	return true, false
}
