package main

import (
	"context"
	"fmt"
	"net"

	"github.com/hookstream/hookstream/rules"
	"github.com/hookstream/hookstream/rules/topic"
)

// runCmd is `hookstream run`: the worker, one member of the consumer group.
func (c *cli) runCmd(ctx context.Context, args []string) error {
	fs := c.newFlagSet("run", "run [--config FILE] [--brokers HOST:PORT]... [--topic NAME]... [--group G] [--rules FILE | --rules-topic NAME] [--http ADDR]")
	cf := addConfigFlags(fs)
	printConfig := fs.Bool("print-config", false, "print the effective configuration, with where each value came from, and exit")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	cfg, err := c.loadConfig(fs, cf)
	if err != nil {
		return err
	}
	if *printConfig {
		return cfg.Write(c.stdout)
	}
	traces, err := c.tracingConfig()
	if err != nil {
		return err
	}
	opts, err := c.kafkaOpts(&cfg)
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log, c.stderr)
	if err := checkBrokers(ctx, &cfg, opts, log); err != nil {
		return err
	}
	// Without a rules file, the actions come from the rules topic.
	store, source := &rules.Store{}, "topic "+cfg.Kafka.RulesTopic
	var follow *topic.Config
	if cfg.RulesFile != "" {
		set, err := loadRulesFile(cfg.RulesFile, rulesGetenv(&cfg, c.getenv))
		if err != nil {
			return usageError{err}
		}
		store, source = newStore(set), "file "+cfg.RulesFile
	} else {
		if err := ensureRulesTopic(ctx, &cfg, opts, log); err != nil {
			return err
		}
		fc := rulesFollower(&cfg, opts, store, rulesGetenv(&cfg, c.getenv), log)
		follow = &fc
	}
	ln, err := net.Listen("tcp", cfg.HTTP)
	if err != nil {
		return fmt.Errorf("http (%s): %w", cfg.Origin("http"), err)
	}
	w := &worker{
		cfg:    &cfg,
		opts:   opts,
		store:  store,
		source: source,
		follow: follow,
		httpLn: ln,
		log:    log,
	}
	w.tracing = traces
	return w.run(ctx)
}
