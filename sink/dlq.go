package sink

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Dead-letter reasons, the values of the hookstream-reason header.
const (
	ReasonDecode           = "decode"
	ReasonTooLarge         = "too_large"
	ReasonRejected         = "rejected"
	ReasonRetriesExhausted = "retries_exhausted"
	ReasonMapping          = "mapping"
)

// Headers added to every dead letter. Source headers of the same names are
// replaced, so a record dead-lettered twice does not carry two reasons.
const (
	HeaderReason          = "hookstream-reason"
	HeaderAction          = "hookstream-action"
	HeaderStatus          = "hookstream-status"
	HeaderError           = "hookstream-error"
	HeaderSourceTopic     = "hookstream-source-topic"
	HeaderSourcePartition = "hookstream-source-partition"
	HeaderSourceOffset    = "hookstream-source-offset"
	HeaderAttempts        = "hookstream-attempts"
	// HeaderValueDropped is set, to the value's length, on the rare dead
	// letter whose source value the DLQ topic would not take (see writeDead).
	HeaderValueDropped = "hookstream-value-dropped"
)

const maxErrorHeader = 1024

// letter says why events are dead-lettered.
type letter struct {
	reason   string
	action   string
	status   int // HTTP status, 0 if none
	cause    error
	attempts int
}

// DeadLetter writes rec to the dead-letter topic with reason (decode,
// too_large, rejected, retries_exhausted, mapping), the action id (may be
// empty) and cause; done is called once the write is acknowledged. Failed
// writes are retried with backoff until ctx ends or the Sink closes; done is
// never called for a write that did not happen. done runs on the producer's
// callback goroutine and must not block.
//
// A parked event read back from the retry topic is dead-lettered as its
// source record: the same key, value, headers and source coordinates.
func (s *Sink) DeadLetter(ctx context.Context, rec *kgo.Record, reason, action string, cause error, done func()) {
	rec = s.sourceOf(rec)
	s.writeDead(ctx, item{rec: rec, done: done, gen: s.track.add()}, letter{reason: reason, action: action, cause: cause})
}

// deadLetter writes each event of b to the dead-letter topic.
func (r *runner) deadLetter(b *batch, reason string, o outcome) {
	r.s.log.Warn("dead-lettering events", "action", r.id, "reason", reason, "events", len(b.items),
		"status", o.status, "error", o.err, "attempts", b.attempts)
	for _, it := range b.items {
		r.s.writeDead(r.s.ctx, it, letter{reason: reason, action: r.id, status: o.status, cause: o.err, attempts: b.attempts})
	}
}

// pendingDead is one dead letter, or one parked event (park set), on its
// way to the topic.
type pendingDead struct {
	ctx   context.Context
	rec   *kgo.Record
	it    item
	l     letter
	tries int
	due   time.Time
	park  *runner // the action parking it; nil for a dead letter
}

func (s *Sink) writeDead(ctx context.Context, it item, l letter) {
	s.produceDead(&pendingDead{ctx: ctx, rec: deadRecord(s.dlqTopic, it, l), it: it, l: l})
}

// deadRecord builds the dead letter: the source record's key, value and
// headers plus hookstream's own.
func deadRecord(topic string, it item, l letter) *kgo.Record {
	src := it.rec
	if src == nil {
		src = &kgo.Record{Value: it.body, Partition: -1, Offset: -1}
	}
	out := &kgo.Record{Topic: topic, Key: src.Key, Value: src.Value, Headers: make([]kgo.RecordHeader, 0, len(src.Headers)+8)}
	for _, h := range src.Headers {
		if !ownHeader(h.Key) {
			out.Headers = append(out.Headers, h)
		}
	}
	add := func(k, v string) { out.Headers = append(out.Headers, kgo.RecordHeader{Key: k, Value: []byte(v)}) }
	add(HeaderReason, l.reason)
	add(HeaderAction, l.action)
	if l.status != 0 {
		add(HeaderStatus, strconv.Itoa(l.status))
	}
	add(HeaderError, errorText(l))
	add(HeaderSourceTopic, src.Topic)
	add(HeaderSourcePartition, strconv.Itoa(int(src.Partition)))
	add(HeaderSourceOffset, strconv.FormatInt(src.Offset, 10))
	add(HeaderAttempts, strconv.Itoa(l.attempts))
	return out
}

func ownHeader(k string) bool {
	switch k {
	case HeaderReason, HeaderAction, HeaderStatus, HeaderError, HeaderSourceTopic,
		HeaderSourcePartition, HeaderSourceOffset, HeaderAttempts, HeaderValueDropped,
		HeaderSourceKey, HeaderSourceTimestamp:
		return true
	}
	return false
}

// errorText is the hookstream-error value: the cause, cut to a sane size
// on a rune boundary. Delivery errors are built without URLs, header values
// or response bodies, so no secret reaches the topic.
func errorText(l letter) string {
	if l.cause == nil {
		return l.reason
	}
	s := l.cause.Error()
	if len(s) > maxErrorHeader {
		s = s[:maxErrorHeader]
		for len(s) > 0 && !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
	}
	return s
}

// produceDead writes d and, once the broker acknowledged it, calls the
// event's done. A failed write goes to the retrier; a write whose context
// ended is abandoned: its event is not done, only no longer awaited.
func (s *Sink) produceDead(d *pendingDead) {
	s.cfg.Producer.Produce(d.ctx, d.rec, func(rec *kgo.Record, err error) {
		switch {
		case err == nil && d.park != nil:
			d.park.parkWritten(d.it, rec)
		case err == nil:
			s.metrics.EventsDeadLettered.Add(context.Background(), 1, metric.WithAttributeSet(
				attribute.NewSet(attribute.String("action", d.l.action), attribute.String("reason", d.l.reason))))
			s.finish(d.it)
		case d.ctx.Err() != nil || s.ctx.Err() != nil:
			s.log.Warn("dead letter abandoned", "action", d.l.action, "reason", d.l.reason, "error", err)
			s.abandon(d.it)
			if d.park != nil {
				d.park.parkWritten(d.it, nil)
			}
		default:
			s.retrier.add(d, err)
		}
	})
}

// dlqRetrier re-produces failed dead letters after a backoff, from one
// goroutine, so that the producer's callbacks never block.
type dlqRetrier struct {
	s    *Sink
	mu   sync.Mutex
	list []*pendingDead
	wake chan struct{}
}

func (q *dlqRetrier) add(d *pendingDead, err error) {
	d.tries++
	wait := min(100*time.Millisecond<<min(d.tries-1, 10), 10*time.Second)
	wait = wait/2 + rand.N(wait/2+1)
	if errors.Is(err, kerr.MessageTooLarge) && d.park != nil {
		// The retry topic will never take this event: dead-letter it
		// instead, rather than hold its source partition for good.
		d.park.parkWritten(d.it, nil)
		q.s.writeDead(d.ctx, d.it, letter{reason: ReasonRejected, action: d.l.action,
			cause: fmt.Errorf("park in %s: %w", d.rec.Topic, err)})
		return
	}
	if errors.Is(err, kerr.MessageTooLarge) && d.rec.Value != nil {
		// The DLQ topic will never take this value (a too_large event, or a
		// broker with a smaller max.message.bytes). Retrying forever would
		// hold the source partition for good; keeping key, headers and the
		// source coordinates lets an operator fetch the value from the
		// source topic while it is retained.
		d.rec.Headers = append(d.rec.Headers, kgo.RecordHeader{Key: HeaderValueDropped, Value: []byte(strconv.Itoa(len(d.rec.Value)))})
		d.rec.Value = nil
		wait = 0
	}
	q.s.log.Warn("dead letter write failed, will retry", "topic", d.rec.Topic, "action", d.l.action, "reason", d.l.reason,
		"tries", d.tries, "wait", wait, "error", err)
	d.due = time.Now().Add(wait)
	q.mu.Lock()
	q.list = append(q.list, d)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// run re-produces due dead letters until the Sink's context ends.
func (q *dlqRetrier) run(ctx context.Context) {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		var due []*pendingDead
		next := time.Hour
		now := time.Now()
		q.mu.Lock()
		keep := q.list[:0]
		for _, d := range q.list {
			if w := d.due.Sub(now); w > 0 {
				next = min(next, w)
				keep = append(keep, d)
			} else {
				due = append(due, d)
			}
		}
		clear(q.list[len(keep):])
		q.list = keep
		q.mu.Unlock()
		for _, d := range due {
			if d.ctx.Err() != nil {
				q.s.abandon(d.it)
				if d.park != nil {
					d.park.parkWritten(d.it, nil)
				}
				continue
			}
			q.s.produceDead(d)
		}
		t.Reset(next)
		select {
		case <-q.wake:
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}
