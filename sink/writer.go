package sink

import (
	"cmp"
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// topicWriter produces records to Kafka and tells each one's end exactly
// once: after the broker acknowledged it, or once it was given up. A failed
// write is retried with exponential backoff from one goroutine (run), so
// the producer's callbacks never block. It knows nothing of what it writes:
// dead letters (dlq.go) and parked events (park.go) both go through it.
//
// Records over largeFrom bytes go through large instead of prod, and only
// from the writer's own goroutine: large takes one record at a time, so its
// Produce may wait, which a producer's callback must never do.
type topicWriter struct {
	prod      *kgo.Client
	large     *kgo.Client // nil: prod writes everything
	largeFrom int
	log       *slog.Logger
	stop      context.Context // ends when its owner gives up: failing writes are abandoned

	mu   sync.Mutex
	list []*write
	wake chan struct{}
}

// write is one record on its way.
type write struct {
	ctx context.Context // the caller's: the write is abandoned once it ends
	rec *kgo.Record
	// failed, when set, is asked after each failed attempt what to do: it
	// may change rec (drop its value) and returns whether to try again,
	// and whether at once rather than after a backoff.
	failed func(rec *kgo.Record, err error) (again, now bool)
	// done is called once, on the producer's callback goroutine or the
	// writer's: with nil once the broker acknowledged rec, otherwise with
	// the error that ended the write (a context's end, or one failed gave
	// up on). It must not block.
	done func(rec *kgo.Record, err error)
	// log names the write in the writer's logs (key/value pairs).
	log []any

	tries int
	due   time.Time
}

func newTopicWriter(stop context.Context, prod *kgo.Client, log *slog.Logger) *topicWriter {
	return &topicWriter{prod: prod, log: log, stop: stop, wake: make(chan struct{}, 1)}
}

// write produces w.rec and ends it as write's doc says.
func (tw *topicWriter) write(w *write) {
	if tw.isLarge(w.rec) {
		tw.schedule(w, 0) // run writes it
		return
	}
	tw.produce(tw.prod, w)
}

// isLarge reports whether rec goes through large.
func (tw *topicWriter) isLarge(rec *kgo.Record) bool {
	if tw.large == nil {
		return false
	}
	n := len(rec.Key) + len(rec.Value)
	for _, h := range rec.Headers {
		n += len(h.Key) + len(h.Value)
	}
	return n > tw.largeFrom
}

// produce writes w through cl.
func (tw *topicWriter) produce(cl *kgo.Client, w *write) {
	cl.Produce(w.ctx, w.rec, func(rec *kgo.Record, err error) {
		switch {
		case err == nil:
			w.done(rec, nil)
		case w.ctx.Err() != nil || tw.stop.Err() != nil:
			tw.log.Warn("topic write abandoned", append(w.log, "topic", w.rec.Topic, "error", err)...)
			w.done(nil, cmp.Or(w.ctx.Err(), tw.stop.Err()))
		default:
			tw.retry(w, err)
		}
	})
}

// retry schedules another attempt at w, unless w.failed gives up.
func (tw *topicWriter) retry(w *write, err error) {
	w.tries++
	wait := min(100*time.Millisecond<<min(w.tries-1, 10), 10*time.Second)
	wait = wait/2 + rand.N(wait/2+1)
	if w.failed != nil {
		again, now := w.failed(w.rec, err)
		if !again {
			w.done(nil, err)
			return
		}
		if now {
			wait = 0
		}
	}
	tw.log.Warn("topic write failed, will retry", append(w.log, "topic", w.rec.Topic,
		"tries", w.tries, "wait", wait, "error", err)...)
	tw.schedule(w, wait)
}

// schedule has run write w after wait.
func (tw *topicWriter) schedule(w *write, wait time.Duration) {
	w.due = time.Now().Add(wait)
	tw.mu.Lock()
	tw.list = append(tw.list, w)
	tw.mu.Unlock()
	select {
	case tw.wake <- struct{}{}:
	default:
	}
}

// run re-produces due writes until stop ends.
func (tw *topicWriter) run() {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		var due []*write
		next := time.Hour
		now := time.Now()
		tw.mu.Lock()
		keep := tw.list[:0]
		for _, w := range tw.list {
			if d := w.due.Sub(now); d > 0 {
				next = min(next, d)
				keep = append(keep, w)
			} else {
				due = append(due, w)
			}
		}
		clear(tw.list[len(keep):])
		tw.list = keep
		tw.mu.Unlock()
		for _, w := range due {
			if err := w.ctx.Err(); err != nil {
				w.done(nil, err)
				continue
			}
			if tw.isLarge(w.rec) {
				tw.produce(tw.large, w)
			} else {
				tw.produce(tw.prod, w)
			}
		}
		t.Reset(next)
		select {
		case <-tw.wake:
		case <-t.C:
		case <-tw.stop.Done():
			return
		}
	}
}
