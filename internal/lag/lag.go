package lag

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/expr-lang/expr/vm"
	"github.com/hookstream/hookstream/internal/deadletter"
	"github.com/hookstream/hookstream/processor"
	"github.com/hookstream/hookstream/rules"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Config says whose lag to measure.
type Config struct {
	Group      string
	Topics     []string // the source topics
	RetryTopic string
	// Rules are the actions source records are matched against; nil: the
	// records are not attributed to actions.
	Rules *rules.Set
	// MaxEventBytes is the workers' max_event_bytes: a larger record is
	// poison, not any action's.
	MaxEventBytes int
	// Scan is how many records of each retry-topic partition are read, from
	// the committed offset on, to find each parked action's oldest event.
	// Default 1.
	Scan int
}

// Partition is one partition's lag: a row of `hookstream lag`, and its
// JSON form.
type Partition struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	// Committed is the group's committed offset; -1 when it has none, and
	// then the lag counts from the partition's start.
	Committed int64 `json:"committed"`
	End       int64 `json:"end"`
	Lag       int64 `json:"lag"`
	// OldestAgeSeconds is the age of the record at the committed offset:
	// the oldest one the group has not finished. Null when the lag is 0.
	OldestAgeSeconds *float64 `json:"oldest_age_seconds"`
}

// Action is one action's oldest undelivered event.
type Action struct {
	Action           string  `json:"action"`
	OldestAgeSeconds float64 `json:"oldest_age_seconds"`
	// Parked says the event is in the retry topic: the action parked it.
	Parked    bool   `json:"parked"`
	Topic     string `json:"topic"` // where that event is now
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
}

// Report is the lag of a group: per partition of the source topics and
// the retry topic, and per action.
type Report struct {
	Group      string      `json:"group"`
	Partitions []Partition `json:"partitions"`
	Actions    []Action    `json:"actions"`
	// Rules says where the actions matched against source records came
	// from; empty when none were found, and source records are then not
	// attributed to actions.
	Rules string `json:"rules,omitempty"`
}

// Measure lists the group's offsets and reads the records at its committed
// offsets (see the package doc). opts connect the clients (seed brokers,
// TLS, SASL); now is when ages are counted to.
func Measure(ctx context.Context, opts []kgo.Opt, cfg Config, now time.Time) (*Report, error) {
	scan, set := max(1, cfg.Scan), cfg.Rules
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	group, retry := cfg.Group, cfg.RetryTopic
	topics := append(slices.Clone(cfg.Topics), retry)

	offsets, err := processor.GroupLag(ctx, adm, group, topics...)
	if err != nil {
		return nil, err
	}
	rep := &Report{Group: group, Partitions: []Partition{}, Actions: []Action{}}
	from := map[string]map[int32]kgo.Offset{} // where to read: partitions with lag
	upTo := map[string]map[int32]int64{}      // the offset to stop reading before
	for _, o := range offsets {
		t, p := o.Topic, o.Partition
		rep.Partitions = append(rep.Partitions, Partition{Topic: t, Partition: p, Committed: o.Committed, End: o.End, Lag: o.Lag})
		if o.Lag == 0 {
			continue
		}
		n := int64(1)
		if t == retry {
			n = int64(scan)
		}
		if from[t] == nil {
			from[t], upTo[t] = map[int32]kgo.Offset{}, map[int32]int64{}
		}
		from[t][p] = kgo.NewOffset().At(o.From())
		upTo[t][p] = min(o.End, o.From()+n)
	}
	if len(from) == 0 {
		return rep, nil
	}
	recs, err := readRanges(ctx, opts, from, upTo)
	if err != nil {
		return nil, err
	}
	oldest := map[string]Action{}
	note := func(id string, ts time.Time, parked bool, r *kgo.Record) {
		age := now.Sub(ts).Seconds()
		if o, ok := oldest[id]; !ok || age > o.OldestAgeSeconds {
			oldest[id] = Action{Action: id, OldestAgeSeconds: age, Parked: parked, Topic: r.Topic, Partition: r.Partition, Offset: r.Offset}
		}
	}
	var ev rules.Event
	var machine vm.VM
	var matches []*rules.Compiled
	for i := range rep.Partitions {
		row := &rep.Partitions[i]
		got := recs[row.Topic][row.Partition]
		if len(got) == 0 {
			continue
		}
		ts := got[0].Timestamp
		if row.Topic == retry {
			ts = parkedTime(got[0])
		}
		age := now.Sub(ts).Seconds()
		row.OldestAgeSeconds = &age
		if row.Topic == retry {
			for _, r := range got {
				if id := deadletter.Decode(r).Action; id != "" {
					note(id, parkedTime(r), true, r)
				}
			}
			continue
		}
		if set == nil || rules.Decode(got[0].Value, cfg.MaxEventBytes, &ev) != nil {
			continue // a poison record is not any action's: it is dead-lettered
		}
		matches = set.Match(&ev, &machine, matches[:0], nil)
		for _, a := range matches {
			note(a.ID, got[0].Timestamp, false, got[0])
		}
	}
	for _, id := range slices.Sorted(maps.Keys(oldest)) {
		rep.Actions = append(rep.Actions, oldest[id])
	}
	return rep, nil
}
