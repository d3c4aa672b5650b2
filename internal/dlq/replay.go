package dlq

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/hookstream/hookstream/internal/deadletter"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Skip says why a selected dead letter is not replayed; "" means it is.
type Skip string

const (
	SkipNoAction     Skip = "no_action"       // a poison record (decode, too_large) matched no action
	SkipDeleted      Skip = "action_deleted"  // its action no longer exists
	SkipDisabled     Skip = "action_disabled" // its action is disabled
	SkipInvalid      Skip = "action_invalid"  // its action is refused by the workers
	SkipValueDropped Skip = "value_dropped"   // the dead letter has no value to send
)

// Skips lists every Skip, in the order a summary shows them.
var Skips = []Skip{SkipNoAction, SkipDeleted, SkipDisabled, SkipInvalid, SkipValueDropped}

// Why says in words why a dead letter is skipped.
func (s Skip) Why() string {
	switch s {
	case SkipNoAction:
		return "no action: a poison record cannot be replayed"
	case SkipDeleted:
		return "the action no longer exists"
	case SkipDisabled:
		return "the action is disabled"
	case SkipInvalid:
		return "the action on the rules topic is invalid"
	case SkipValueDropped:
		return "the dead letter kept no value (too large for the topic)"
	}
	return string(s)
}

// Planned is a selected dead letter and whether it is replayed.
type Planned struct {
	Letter
	Skip Skip `json:"skip,omitempty"`
}

// Plan decides whether l can be replayed with actions as they are now.
func Plan(l Letter, actions Actions) Planned {
	return Planned{Letter: l, Skip: skip(&l, actions)}
}

func skip(l *Letter, actions Actions) Skip {
	if l.Action == "" {
		return SkipNoAction
	}
	switch actions[l.Action] {
	case Missing:
		return SkipDeleted
	case Disabled:
		return SkipDisabled
	case Invalid:
		return SkipInvalid
	}
	if l.ValueDropped {
		return SkipValueDropped
	}
	return ""
}

// Summary counts a plan.
type Summary struct {
	Selected int          `json:"selected"`
	Replayed int          `json:"replayed"`
	Skipped  map[Skip]int `json:"skipped"`
}

// Add counts p; replayed says whether its letter was written.
func (s *Summary) Add(p Planned, replayed bool) {
	s.Selected++
	switch {
	case p.Skip != "":
		if s.Skipped == nil {
			s.Skipped = map[Skip]int{}
		}
		s.Skipped[p.Skip]++
	case replayed:
		s.Replayed++
	}
}

// Replayer writes planned dead letters to the retry topic as events parked
// by the action each names, in the order it is given them, without waiting
// for each: it holds a bounded number of bytes in flight (the producer's
// buffer). A running worker then delivers them with the action's current
// version; the value, and so the event's messageId, is the source record's.
// The letters must come from Read with keep set. Close waits for the
// brokers to acknowledge every one.
type Replayer struct {
	opts  []kgo.Opt
	topic string
	cl    *kgo.Client
	limit int // the largest record cl takes

	mu    sync.Mutex
	first error // the first write that failed
}

// NewReplayer writes to retryTopic through a client made with opts.
func NewReplayer(opts []kgo.Opt, retryTopic string) *Replayer {
	return &Replayer{opts: opts, topic: retryTopic}
}

// Write writes p unless the plan skips it, and reports whether it did. An
// error is that of an earlier write, or the client's.
func (r *Replayer) Write(ctx context.Context, p Planned) (bool, error) {
	if p.Skip != "" {
		return false, nil
	}
	if p.source == nil {
		return false, fmt.Errorf("replay: dead letter %d@%d was read without its record", p.Partition, p.Offset)
	}
	rec := deadletter.Park(r.topic, p.Action, p.source)
	if err := r.fit(ctx, len(rec.Value)+len(rec.Key)); err != nil {
		return false, err
	}
	r.cl.Produce(ctx, rec, func(_ *kgo.Record, err error) {
		if err != nil {
			r.mu.Lock()
			r.first = cmp.Or(r.first, err)
			r.mu.Unlock()
		}
	})
	return true, r.err()
}

// fit makes sure the client takes a record of size bytes: records as large
// as those the dead-letter topic held (the retry topic's own limit is the
// brokers' to enforce). A client made for smaller records is flushed and
// closed first, so the order holds.
func (r *Replayer) fit(ctx context.Context, size int) error {
	if r.cl != nil && size+64<<10 <= r.limit {
		return nil
	}
	if err := r.Close(ctx); err != nil {
		return err
	}
	r.limit = max(1<<20, size+64<<10)
	cl, err := kgo.NewClient(append(slices.Clip(r.opts),
		kgo.ProducerBatchMaxBytes(int32(r.limit)),
		kgo.MaxBufferedBytes(max(64<<20, 2*r.limit)))...)
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	r.cl = cl
	return nil
}

// Close waits for every write to be acknowledged and returns the first
// error.
func (r *Replayer) Close(ctx context.Context) error {
	if r.cl != nil {
		err := r.cl.Flush(ctx)
		r.cl.Close()
		r.cl = nil
		if err != nil {
			return fmt.Errorf("replay to %s: %w", r.topic, err)
		}
	}
	return r.err()
}

func (r *Replayer) err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.first != nil {
		return fmt.Errorf("replay to %s: %w", r.topic, r.first)
	}
	return nil
}
