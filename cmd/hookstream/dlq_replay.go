package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/hookstream/hookstream/internal/config"
	"github.com/hookstream/hookstream/internal/dlq"
	"github.com/hookstream/hookstream/rules"
	"github.com/hookstream/hookstream/rules/topic"
	"github.com/twmb/franz-go/pkg/kgo"
)

// dlqReplay is `hookstream dlq replay`.
func (c *cli) dlqReplay(ctx context.Context, args []string) error {
	fs := c.newFlagSet("dlq replay", "dlq replay [--dry-run] [--action ID]... [--reason R]... [--since TIME] [--until TIME] [--output text|json] [--brokers HOST:PORT]... [--dlq-topic NAME] [--retry-topic NAME] [--rules FILE | --rules-topic NAME] [--config FILE]")
	dryRun := fs.Bool("dry-run", false, "show what would be replayed and skipped, and write nothing")
	df := addDLQFlags(fs)
	cf := addSomeConfigFlags(fs, "brokers", "dlq-topic", "retry-topic", "rules", "rules-topic", "config")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	filter, err := df.filter("dlq replay", time.Now())
	if err != nil {
		return err
	}
	cfg, opts, err := c.connect(ctx, fs, cf)
	if err != nil {
		return err
	}
	actions, from, err := replayActions(ctx, cfg, opts)
	if err != nil {
		return err
	}
	sum := dlq.Summary{Skipped: map[dlq.Skip]int{}}
	var rp *dlq.Replayer
	if !*dryRun {
		rp = dlq.NewReplayer(opts, cfg.Kafka.RetryTopic)
		defer rp.Close(context.WithoutCancel(ctx))
	}
	// Each selected letter is planned, written and printed as it is read.
	out := bufio.NewWriterSize(c.stdout, 1<<16)
	defer out.Flush()
	var show func(p *dlq.Planned) error
	var end func() error
	if df.output == "json" {
		head, _ := json.Marshal(struct {
			DryRun     bool   `json:"dry_run"`
			RetryTopic string `json:"retry_topic"`
			Actions    string `json:"actions_from"`
		}{*dryRun, cfg.Kafka.RetryTopic, from})
		// The summary comes last, once counted: {"dry_run":…,"letters":[…],"summary":{…}}.
		fmt.Fprintf(out, "%s,\n\"letters\": ", head[:len(head)-1])
		arr := newJSONArray(out)
		show = func(p *dlq.Planned) error { return arr.add(p) }
		end = func() error {
			s, _ := json.Marshal(sum)
			return arr.end(fmt.Sprintf(",\n\"summary\": %s}\n", s))
		}
	} else {
		table := newLetterTable(out, "REPLAY")
		show = func(p *dlq.Planned) error {
			what := "yes"
			if p.Skip != "" {
				what = "skipped: " + p.Skip.Why()
			}
			return table.add(&p.Letter, what)
		}
		end = func() error {
			if table.rows > 0 {
				if err := table.Flush(); err != nil {
					return err
				}
			}
			_, err := fmt.Fprintln(out, replaySummary(sum, *dryRun, cfg.Kafka.RetryTopic, from))
			return err
		}
	}
	err = dlqRead(ctx, opts, cfg.Kafka.DLQTopic, filter, true, func(l dlq.Letter) error {
		p := dlq.Plan(l, actions)
		written := false
		if rp != nil {
			var err error
			if written, err = rp.Write(ctx, p); err != nil {
				return err
			}
		}
		sum.Add(p, written)
		return show(&p)
	})
	if err == nil && rp != nil {
		err = rp.Close(ctx)
	}
	if err != nil {
		return fmt.Errorf("dlq replay: %w", err)
	}
	if err := end(); err != nil {
		return err
	}
	return out.Flush()
}

// replaySummary is the last line of `dlq replay`.
func replaySummary(s dlq.Summary, dryRun bool, retryTopic, from string) string {
	skipped := 0
	var why []string
	for _, k := range dlq.Skips {
		if n := s.Skipped[k]; n > 0 {
			skipped += n
			why = append(why, fmt.Sprintf("%d %s", n, k.Why()))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "selected %d", s.Selected)
	if dryRun {
		fmt.Fprintf(&b, ", would replay %d (dry run: nothing written)", s.Selected-skipped)
	} else {
		fmt.Fprintf(&b, ", replayed %d to %s", s.Replayed, retryTopic)
	}
	fmt.Fprintf(&b, ", skipped %d", skipped)
	if len(why) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(why, "; "))
	}
	fmt.Fprintf(&b, "; actions from %s", from)
	return b.String()
}

// replayActions reads the actions a replay checks dead letters against:
// the rules file if one is configured, else the rules topic.
func replayActions(ctx context.Context, cfg *config.Config, opts []kgo.Opt) (dlq.Actions, string, error) {
	if cfg.RulesFile != "" {
		data, err := os.ReadFile(cfg.RulesFile)
		if err != nil {
			return nil, "", usageError{fmt.Errorf("rules_file (%s): %w", cfg.Origin("rules_file"), err)}
		}
		actions, err := rules.ParseYAML(data, cfg.RulesFile)
		if err != nil {
			return nil, "", usageError{err}
		}
		return dlq.FileActions(actions), "file " + cfg.RulesFile, nil
	}
	ctx, cancel := context.WithTimeout(ctx, rulesTopicTimeout)
	defer cancel()
	values, err := topic.Read(ctx, opts, cfg.Kafka.RulesTopic)
	if err != nil && !errors.Is(err, topic.ErrNoTopic) {
		return nil, "", fmt.Errorf("dlq replay: %w", err)
	}
	return dlq.TopicActions(values), "topic " + cfg.Kafka.RulesTopic, nil
}
