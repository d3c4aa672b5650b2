package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/expr-lang/expr/vm"
	"github.com/hookstream/hookstream/internal/config"
	"github.com/hookstream/hookstream/internal/deadletter"
	"github.com/hookstream/hookstream/processor"
	"github.com/hookstream/hookstream/rules"
	"github.com/hookstream/hookstream/rules/topic"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// lagTimeout bounds `hookstream lag`'s work with the brokers.
const lagTimeout = 30 * time.Second

// lagPartition is one row of `hookstream lag`, and its JSON form.
type lagPartition struct {
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

// lagAction is one action's oldest undelivered event.
type lagAction struct {
	Action           string  `json:"action"`
	OldestAgeSeconds float64 `json:"oldest_age_seconds"`
	// Parked says the event is in the retry topic: the action parked it.
	Parked    bool   `json:"parked"`
	Topic     string `json:"topic"` // where that event is now
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
}

type lagReport struct {
	Group      string         `json:"group"`
	Partitions []lagPartition `json:"partitions"`
	Actions    []lagAction    `json:"actions"`
	// Rules says where the actions matched against source records came
	// from; empty when none were found, and source records are then not
	// attributed to actions.
	Rules string `json:"rules,omitempty"`
}

// lagCmd is `hookstream lag`: the group's lag per topic and partition, for
// the source topics and the retry topic, and the age of the oldest
// undelivered event per action.
//
// How the age per action is found, with nothing but the brokers to ask:
// the record at a partition's committed offset is the oldest one the group
// has not finished (the commit never passes an undelivered event). For a
// source partition, that record is matched against the actions (from
// --rules, or the rules topic) and its age counts for every action it
// matches: one of them, at least, has not delivered it. For the retry
// topic, the records from the committed offset on (up to --scan of them)
// are parked events, each naming its action, and the first one of each
// action gives that action's age, from the source record's timestamp.
// An event delivered but not yet committed (for up to a commit interval)
// still counts, so the ages are upper bounds.
func (c *cli) lagCmd(ctx context.Context, args []string) error {
	fs := c.newFlagSet("lag", "lag [--output text|json] [--brokers HOST:PORT]... [--group NAME] [--topic NAME]... [--retry-topic NAME] [--rules FILE | --rules-topic NAME] [--config FILE]")
	output := fs.String("output", "text", "`FORMAT`: text or json")
	scan := fs.Int("scan", 10000, "read at most `N` records per retry-topic partition to find each parked action's oldest event")
	cf := addSomeConfigFlags(fs, "brokers", "topic", "group", "retry-topic", "rules", "rules-topic", "config")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if *output != "text" && *output != "json" {
		return usagef("lag: --output %q: want text or json", *output)
	}
	if *scan < 1 {
		return usagef("lag: --scan %d: want at least 1", *scan)
	}
	cfg, err := c.loadConfig(fs, cf)
	if err != nil {
		return err
	}
	opts, err := c.kafkaOpts(&cfg)
	if err != nil {
		return err
	}
	if err := checkBrokersOnce(ctx, &cfg, opts); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, lagTimeout)
	defer cancel()
	set, from, err := c.lagRules(ctx, &cfg, opts)
	if err != nil {
		return err
	}
	rep, err := measureLag(ctx, opts, &cfg, set, *scan, time.Now())
	if err != nil {
		return fmt.Errorf("lag of group %s: %w", cfg.Kafka.Group, err)
	}
	rep.Rules = from
	if *output == "json" {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return printLag(c, rep)
}

// addSomeConfigFlags registers only the named flags of `run` on fs.
func addSomeConfigFlags(fs *flag.FlagSet, names ...string) *configFlags {
	all := flag.NewFlagSet("", flag.ContinueOnError)
	cf := addConfigFlags(all)
	for _, name := range names {
		f := all.Lookup(name)
		fs.Var(f.Value, f.Name, f.Usage)
	}
	return cf
}

// lagRules loads the actions that source records are matched against: the
// rules file if one is configured, else the rules topic. Secrets need not
// be set: only triggers are evaluated. No actions is not an error.
func (c *cli) lagRules(ctx context.Context, cfg *config.Config, opts []kgo.Opt) (*rules.Set, string, error) {
	ropts := newEnvProbe(c.getenv).options()
	if cfg.RulesFile != "" {
		set, err := rules.LoadFile(cfg.RulesFile, ropts)
		if err != nil {
			return nil, "", usageError{err}
		}
		return set, "file " + cfg.RulesFile, nil
	}
	values, err := topic.Read(ctx, opts, cfg.Kafka.RulesTopic)
	if errors.Is(err, topic.ErrNoTopic) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("lag: %w", err)
	}
	var actions []*rules.Compiled
	for _, id := range slices.Sorted(maps.Keys(values)) {
		a, err := rules.ParseJSON(values[id])
		if err != nil || a.ID != id {
			continue // refused by the workers too
		}
		if ca, err := rules.Compile(a, ropts); err == nil {
			actions = append(actions, ca)
		}
	}
	if len(actions) == 0 {
		return nil, "", nil
	}
	return rules.NewSet(actions...), "topic " + cfg.Kafka.RulesTopic, nil
}

// measureLag lists the offsets and reads the records at the committed
// offsets (see lagCmd).
func measureLag(ctx context.Context, opts []kgo.Opt, cfg *config.Config, set *rules.Set, scan int, now time.Time) (*lagReport, error) {
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	group, retry := cfg.Kafka.Group, cfg.Kafka.RetryTopic
	topics := append(slices.Clone(cfg.Kafka.Topics), retry)

	offsets, err := processor.GroupLag(ctx, adm, group, topics...)
	if err != nil {
		return nil, err
	}
	rep := &lagReport{Group: group, Partitions: []lagPartition{}, Actions: []lagAction{}}
	from := map[string]map[int32]kgo.Offset{} // where to read: partitions with lag
	upTo := map[string]map[int32]int64{}      // the offset to stop reading before
	for _, o := range offsets {
		t, p := o.Topic, o.Partition
		rep.Partitions = append(rep.Partitions, lagPartition{Topic: t, Partition: p, Committed: o.Committed, End: o.End, Lag: o.Lag})
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
	oldest := map[string]lagAction{}
	note := func(id string, ts time.Time, parked bool, r *kgo.Record) {
		age := now.Sub(ts).Seconds()
		if o, ok := oldest[id]; !ok || age > o.OldestAgeSeconds {
			oldest[id] = lagAction{Action: id, OldestAgeSeconds: age, Parked: parked, Topic: r.Topic, Partition: r.Partition, Offset: r.Offset}
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

// readRanges reads, per partition, the records from from up to (not
// including) upTo. Control records are read too, only to see a range end on
// a transaction marker; they are not returned.
func readRanges(ctx context.Context, opts []kgo.Opt, from map[string]map[int32]kgo.Offset, upTo map[string]map[int32]int64) (map[string]map[int32][]*kgo.Record, error) {
	cl, err := kgo.NewClient(append(slices.Clip(opts), kgo.ConsumePartitions(from),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())...)
	if err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	defer cl.Close()
	left := 0
	for _, ps := range upTo {
		left += len(ps)
	}
	out := map[string]map[int32][]*kgo.Record{}
	for left > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("read records at the committed offsets: %d partitions not read: %w", left, err)
		}
		var errs []error
		fs.EachError(func(t string, p int32, err error) { errs = append(errs, fmt.Errorf("read %s/%d: %w", t, p, err)) })
		if len(errs) > 0 {
			return nil, errors.Join(errs...)
		}
		fs.EachPartition(func(fp kgo.FetchTopicPartition) {
			stop, ok := upTo[fp.Topic][fp.Partition]
			if !ok {
				return
			}
			done := false
			for _, r := range fp.Records {
				if r.Offset >= stop {
					done = true
					break
				}
				if !r.Attrs.IsControl() {
					if out[r.Topic] == nil {
						out[r.Topic] = map[int32][]*kgo.Record{}
					}
					out[r.Topic][r.Partition] = append(out[r.Topic][r.Partition], r)
				}
				done = r.Offset >= stop-1
			}
			if done {
				delete(upTo[fp.Topic], fp.Partition)
				cl.PauseFetchPartitions(map[string][]int32{fp.Topic: {fp.Partition}})
				left--
			}
		})
	}
	return out, nil
}

// parkedTime is when a parked event's source record was written.
func parkedTime(r *kgo.Record) time.Time { return deadletter.Decode(r).Source.Timestamp }

// printLag writes the report as two tables.
func printLag(c *cli, rep *lagReport) error {
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "group %s\n\n", rep.Group)
	fmt.Fprintln(tw, "TOPIC\tPARTITION\tCOMMITTED\tEND\tLAG\tOLDEST")
	for _, p := range rep.Partitions {
		committed, oldest := "-", "-"
		if p.Committed >= 0 {
			committed = strconv.FormatInt(p.Committed, 10)
		}
		if p.OldestAgeSeconds != nil {
			oldest = age(*p.OldestAgeSeconds)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%d\t%s\n", p.Topic, p.Partition, committed, p.End, p.Lag, oldest)
	}
	fmt.Fprintln(tw)
	switch {
	case len(rep.Actions) > 0:
		fmt.Fprintln(tw, "ACTION\tOLDEST UNDELIVERED\tWHERE")
		for _, a := range rep.Actions {
			where := fmt.Sprintf("%s/%d@%d", a.Topic, a.Partition, a.Offset)
			if a.Parked {
				where += " (parked)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", a.Action, age(a.OldestAgeSeconds), where)
		}
	default:
		fmt.Fprintln(tw, "no action has an undelivered event")
	}
	if rep.Rules == "" {
		fmt.Fprintln(tw, "(no actions found in a rules file or on the rules topic: source records are not attributed to actions)")
	}
	return tw.Flush()
}

// age formats seconds as a duration rounded to what a reader needs.
func age(s float64) string {
	d := time.Duration(s * float64(time.Second))
	switch {
	case d < 0:
		return "0s"
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	default:
		return d.Round(time.Second).String()
	}
}
