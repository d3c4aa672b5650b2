package main

import (
	"context"
	"fmt"
	"net"
)

// runCmd is `hookstream run`: the worker, one member of the consumer group.
func (c *cli) runCmd(ctx context.Context, args []string) error {
	fs := c.newFlagSet("run", "run [--config FILE] [--brokers HOST:PORT]... [--topic NAME]... [--group G] --rules FILE [--http ADDR]")
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
	if cfg.RulesFile == "" {
		return usagef("run: no rules: give --rules FILE (or rules_file in the config file, or HOOKSTREAM_RULES); "+
			"reading actions from the rules topic %s is not available yet", cfg.Kafka.RulesTopic)
	}
	opts, err := c.kafkaOpts(&cfg)
	if err != nil {
		return err
	}
	set, err := loadRulesFile(cfg.RulesFile, c.getenv)
	if err != nil {
		return usageError{err}
	}
	log := newLogger(cfg.Log, c.stderr)
	if err := checkBrokers(ctx, &cfg, opts, log); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.HTTP)
	if err != nil {
		return fmt.Errorf("http (%s): %w", cfg.Origin("http"), err)
	}
	w := &worker{
		cfg:    &cfg,
		opts:   opts,
		store:  newStore(set),
		source: "file " + cfg.RulesFile,
		httpLn: ln,
		log:    log,
	}
	w.tracing = traces
	return w.run(ctx)
}
