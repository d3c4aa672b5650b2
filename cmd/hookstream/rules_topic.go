package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hookstream/hookstream/rules"
	"github.com/hookstream/hookstream/rules/topic"
)

// rulesTopicTimeout bounds a rules command's work with the brokers, so an
// unreachable cluster ends in an error rather than a hang.
const rulesTopicTimeout = 30 * time.Second

// addTopicFlags registers the flags saying which rules topic to use:
// --brokers, --rules-topic and --config (as `run` has them; TLS and SASL
// come from the config file or the environment).
func addTopicFlags(fs *flag.FlagSet) *configFlags {
	all := flag.NewFlagSet("", flag.ContinueOnError)
	cf := addConfigFlags(all)
	for _, name := range []string{"brokers", "rules-topic", "config"} {
		f := all.Lookup(name)
		fs.Var(f.Value, f.Name, f.Usage)
	}
	return cf
}

// rulesApply publishes a rules file to the rules topic: every action is
// validated first (nothing is published if one is invalid), then the
// actions that are new or changed are written, and with --prune the ones
// the file no longer has are deleted with a tombstone.
func (c *cli) rulesApply(ctx context.Context, args []string) error {
	fs := c.newFlagSet("rules apply", "rules apply -f FILE [--prune] [--dry-run] [--brokers HOST:PORT] [--rules-topic NAME] [--config FILE]")
	file := fs.String("f", "", "rules `FILE` (YAML)")
	prune := fs.Bool("prune", false, "delete the actions on the topic that the file does not have")
	dryRun := fs.Bool("dry-run", false, "say what would change, publish nothing")
	cf := addTopicFlags(fs)
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if *file == "" {
		return usagef("rules apply: -f FILE is required")
	}
	actions, env, err := c.validatedActions(*file)
	if err != nil {
		return err
	}
	cfg, opts, err := c.connect(ctx, fs, cf)
	if err != nil {
		return err
	}
	name := cfg.Kafka.RulesTopic
	ctx, cancel := context.WithTimeout(ctx, rulesTopicTimeout)
	defer cancel()
	plan, err := topic.Apply(ctx, opts, name, actions, *prune, *dryRun)
	if errors.As(err, new(*topic.NotCompactedError)) {
		return usageError{err}
	}
	if err != nil {
		return fmt.Errorf("rules apply: brokers %s: %w", strings.Join(cfg.Kafka.Brokers, ","), err)
	}
	if plan.Created {
		fmt.Fprintf(c.stdout, "created the rules topic %s (cleanup.policy=compact)\n", name)
	}
	fmt.Fprintf(c.stdout, "%s -> %s: %d added, %d changed, %d unchanged, %d removed\n", *file, name,
		len(plan.Added), len(plan.Changed), len(plan.Unchanged), len(plan.Removed))
	for _, l := range []struct {
		what string
		ids  []string
	}{{"added", plan.Added}, {"changed", plan.Changed}, {"unchanged", plan.Unchanged}, {"removed", plan.Removed}} {
		for _, id := range l.ids {
			fmt.Fprintf(c.stdout, "  %-10s %s\n", l.what, id)
		}
	}
	if len(plan.Kept) > 0 {
		fmt.Fprintf(c.stdout, "not in the file, kept on the topic (--prune deletes them): %s\n", strings.Join(plan.Kept, ", "))
	}
	if *dryRun {
		fmt.Fprintln(c.stdout, "dry run: nothing was published")
	}
	if len(env) > 0 {
		fmt.Fprintf(c.stdout, "note: every worker needs these environment variables: %s\n", strings.Join(env, ", "))
	}
	return nil
}

// validatedActions checks a rules file as `rules validate` does and returns
// its actions as written (defaults not filled in, "${env:NAME}" kept), and
// the environment variables the actions read that are not set here.
func (c *cli) validatedActions(file string) ([]rules.Action, []string, error) {
	probe := newEnvProbe(c.getenv)
	if _, err := loadProbed(file, probe); err != nil {
		problems := rules.FieldErrors(err)
		if len(problems) == 0 {
			return nil, nil, usageError{err}
		}
		for _, p := range problems {
			fmt.Fprintln(c.stderr, p)
		}
		return nil, nil, usagef("%s: %d problems; nothing published", file, len(problems))
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, usageError{err}
	}
	actions, err := rules.ParseYAML(data, filepath.Base(file))
	if err != nil { // LoadFile accepted the same bytes
		return nil, nil, usageError{err}
	}
	var env []string
	for _, a := range actions {
		env = append(env, envNames(a)...)
	}
	slices.Sort(env)
	return actions, slices.Compact(env), nil
}

// envNames lists the environment variables an action reads.
func envNames(a rules.Action) []string {
	var out []string
	if a.SecretEnv != "" {
		out = append(out, a.SecretEnv)
	}
	if au := a.Auth; au != nil && au.Basic != nil && au.Basic.PasswordEnv != "" {
		out = append(out, au.Basic.PasswordEnv)
	}
	if au := a.Auth; au != nil && au.OAuth2 != nil && au.OAuth2.ClientSecretEnv != "" {
		out = append(out, au.OAuth2.ClientSecretEnv)
	}
	for _, v := range a.Headers {
		for _, m := range envRef.FindAllString(v, -1) {
			out = append(out, strings.TrimSuffix(strings.TrimPrefix(m, "${env:"), "}"))
		}
	}
	return out
}

// rulesDelete deletes one action from the rules topic with a tombstone.
func (c *cli) rulesDelete(ctx context.Context, args []string) error {
	fs := c.newFlagSet("rules delete", "rules delete [--brokers HOST:PORT] [--rules-topic NAME] [--config FILE] ID")
	cf := addTopicFlags(fs)
	// Flags may come before or after the ID.
	if err := parseFlags(fs, args, len(args)); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("rules delete: want the ID of the action to delete")
	}
	id := fs.Arg(0)
	if err := parseFlags(fs, fs.Args()[1:], 0); err != nil {
		return err
	}
	cfg, opts, err := c.connect(ctx, fs, cf)
	if err != nil {
		return err
	}
	name := cfg.Kafka.RulesTopic
	ctx, cancel := context.WithTimeout(ctx, rulesTopicTimeout)
	defer cancel()
	if err := topic.Delete(ctx, opts, name, id); errors.As(err, new(*topic.NoActionError)) {
		return fmt.Errorf("rules delete: %w", err)
	} else if err != nil {
		return fmt.Errorf("rules delete %s: %w", id, err)
	}
	fmt.Fprintf(c.stdout, "deleted %s from %s\n", id, name)
	return nil
}
