package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"regexp"
	"time"

	"github.com/hookstream/hookstream/internal/deadletter"
	"github.com/hookstream/hookstream/internal/dlq"
	"github.com/twmb/franz-go/pkg/kgo"
)

const dlqUsage = `Usage: hookstream dlq list|replay [flags]

  list     the dead letters, newest last: time, action, reason, status, error,
           source topic/partition/offset, messageId
  replay   send the selected dead letters back through delivery, by writing them
           to the retry topic for the action each names (its current version)

Both take --action ID and --reason R (repeatable), --since and --until (an RFC 3339
time or a duration ago: 90m, 2h, 7d). See hookstream dlq list --help.
`

// dlqCmd is `hookstream dlq list|replay`.
func (c *cli) dlqCmd(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(c.stderr, dlqUsage)
		return usagef("dlq: want list or replay")
	}
	switch args[0] {
	case "list":
		return c.dlqList(ctx, args[1:])
	case "replay":
		return c.dlqReplay(ctx, args[1:])
	case "-h", "-help", "--help", "help":
		fmt.Fprint(c.stdout, dlqUsage)
		return nil
	}
	return usagef("dlq: unknown command %q: want list or replay", args[0])
}

// dlqFlags are the selection and output flags both dlq commands take.
type dlqFlags struct {
	actions, reasons listFlag
	since, until     string
	output           string
}

func addDLQFlags(fs *flag.FlagSet) *dlqFlags {
	f := &dlqFlags{}
	fs.Var(&f.actions, "action", "only dead letters of action `ID` (repeatable)")
	fs.Var(&f.reasons, "reason", "only dead letters with reason `R`: decode, too_large, rejected, retries_exhausted or mapping (repeatable)")
	fs.StringVar(&f.since, "since", "", "only dead letters written at or after `TIME`: RFC 3339, or a duration ago (90m, 2h, 7d)")
	fs.StringVar(&f.until, "until", "", "only dead letters written at or before `TIME`: RFC 3339, or a duration ago")
	fs.StringVar(&f.output, "output", "text", "`FORMAT`: text or json")
	return f
}

// filter checks the flags and returns the selection they describe.
func (f *dlqFlags) filter(cmd string, now time.Time) (dlq.Filter, error) {
	var errs []error
	if f.output != "text" && f.output != "json" {
		errs = append(errs, fmt.Errorf("--output %q: want text or json", f.output))
	}
	filter := dlq.Filter{Actions: f.actions}
	for _, s := range f.reasons {
		r, err := deadletter.ParseReason(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("--reason: %w", err))
		}
		filter.Reasons = append(filter.Reasons, r)
	}
	for _, t := range []struct {
		flag, value string
		dst         *time.Time
	}{{"since", f.since, &filter.Since}, {"until", f.until, &filter.Until}} {
		if t.value == "" {
			continue
		}
		v, err := dlq.ParseTime(t.value, now)
		if err != nil {
			errs = append(errs, fmt.Errorf("--%s %w", t.flag, err))
		}
		*t.dst = v
	}
	if !filter.Since.IsZero() && !filter.Until.IsZero() && filter.Until.Before(filter.Since) {
		errs = append(errs, fmt.Errorf("--until %s is before --since %s", filter.Until.Format(time.RFC3339), filter.Since.Format(time.RFC3339)))
	}
	if len(errs) > 0 {
		return filter, usageError{fmt.Errorf("%s: %w", cmd, errors.Join(errs...))}
	}
	return filter, nil
}

// dlqRead calls each with the selected dead letters, their errors masked,
// as they are read; a missing topic has none.
func dlqRead(ctx context.Context, opts []kgo.Opt, topic string, f dlq.Filter, keep bool, each func(dlq.Letter) error) error {
	masker := errorMasker{}
	err := dlq.Read(ctx, opts, topic, f, keep, func(l dlq.Letter) error {
		l.Error = masker.mask(l.Error)
		return each(l)
	})
	if errors.Is(err, dlq.ErrNoTopic) {
		return nil
	}
	return err
}

// dlqList is `hookstream dlq list`. It prints the dead letters as they are
// read, holding a bounded number of them however many there are.
func (c *cli) dlqList(ctx context.Context, args []string) error {
	fs := c.newFlagSet("dlq list", "dlq list [--action ID]... [--reason R]... [--since TIME] [--until TIME] [--output text|json] [--brokers HOST:PORT]... [--dlq-topic NAME] [--config FILE]")
	df := addDLQFlags(fs)
	cf := addSomeConfigFlags(fs, "brokers", "dlq-topic", "config")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	filter, err := df.filter("dlq list", time.Now())
	if err != nil {
		return err
	}
	cfg, opts, err := c.connect(ctx, fs, cf)
	if err != nil {
		return err
	}
	out := bufio.NewWriterSize(c.stdout, 1<<16)
	if df.output == "json" {
		arr := newJSONArray(out)
		if err := dlqRead(ctx, opts, cfg.Kafka.DLQTopic, filter, false, func(l dlq.Letter) error { return arr.add(&l) }); err != nil {
			return fmt.Errorf("dlq list: %w", err)
		}
		if err := arr.end("\n"); err != nil {
			return err
		}
		return out.Flush()
	}
	table := newLetterTable(out, "")
	if err := dlqRead(ctx, opts, cfg.Kafka.DLQTopic, filter, false, func(l dlq.Letter) error { return table.add(&l, "") }); err != nil {
		return fmt.Errorf("dlq list: %w", err)
	}
	if table.rows == 0 {
		fmt.Fprintf(out, "no dead letters on %s match\n", cfg.Kafka.DLQTopic)
		return out.Flush()
	}
	if err := table.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(out, "%d dead letters on %s\n", table.rows, cfg.Kafka.DLQTopic)
	return out.Flush()
}

// urlInText is a URL inside an error message.
var urlInText = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^\s"'<>]+`)

// maskErrorText masks the credentials of any URL an error message quotes
// (user info, credential-looking query parameters), as `rules list` masks
// an action's URL. hookstream writes its errors without them; a message
// from elsewhere might not be.
func maskErrorText(s string) string { return urlInText.ReplaceAllStringFunc(s, maskURL) }
