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

	"github.com/hookstream/hookstream/internal/config"
	"github.com/hookstream/hookstream/internal/lag"
	"github.com/hookstream/hookstream/rules"
	"github.com/hookstream/hookstream/rules/topic"
	"github.com/twmb/franz-go/pkg/kgo"
)

// lagTimeout bounds `hookstream lag`'s work with the brokers.
const lagTimeout = 30 * time.Second

// lagCmd is `hookstream lag`: the group's lag per topic and partition, for
// the source topics and the retry topic, and the age of the oldest
// undelivered event per action (see internal/lag for how it is found).
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
	rep, err := lag.Measure(ctx, opts, lag.Config{Group: cfg.Kafka.Group, Topics: cfg.Kafka.Topics,
		RetryTopic: cfg.Kafka.RetryTopic, Rules: set, MaxEventBytes: cfg.MaxEventBytes, Scan: *scan}, time.Now())
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

// printLag writes the report as two tables.
func printLag(c *cli, rep *lag.Report) error {
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
