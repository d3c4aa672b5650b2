package dlq

import (
	"context"
	"fmt"
	"slices"

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

// Plan decides, for each letter, whether it can be replayed with actions
// as they are now.
func Plan(letters []Letter, actions Actions) []Planned {
	out := make([]Planned, len(letters))
	for i, l := range letters {
		out[i] = Planned{Letter: l, Skip: skip(&l, actions)}
	}
	return out
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

// Summarize counts plan; replayed says whether its letters were written.
func Summarize(plan []Planned, replayed bool) Summary {
	s := Summary{Selected: len(plan), Skipped: map[Skip]int{}}
	for _, p := range plan {
		switch {
		case p.Skip != "":
			s.Skipped[p.Skip]++
		case replayed:
			s.Replayed++
		}
	}
	return s
}

// Replay writes the letters plan does not skip to retryTopic as events
// parked by the action each names, in the plan's order, and waits for the
// brokers to acknowledge every one. A running worker then delivers them
// with the action's current version; the value, and so the event's
// messageId, is the source record's. The letters must come from Read with
// keep set.
func Replay(ctx context.Context, opts []kgo.Opt, retryTopic string, plan []Planned) error {
	var recs []*kgo.Record
	largest := 0
	for _, p := range plan {
		if p.Skip != "" {
			continue
		}
		if p.source == nil {
			return fmt.Errorf("replay: dead letter %d@%d was read without its record", p.Partition, p.Offset)
		}
		rec := deadletter.Park(retryTopic, p.Action, p.source)
		largest = max(largest, len(rec.Value)+len(rec.Key))
		recs = append(recs, rec)
	}
	if len(recs) == 0 {
		return nil
	}
	// Take records as large as those the dead-letter topic held; the
	// retry topic's own limit is the brokers' to enforce.
	cl, err := kgo.NewClient(append(slices.Clip(opts), kgo.ProducerBatchMaxBytes(int32(max(1<<20, largest+64<<10))))...)
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return fmt.Errorf("replay to %s: %w", retryTopic, err)
	}
	return nil
}
