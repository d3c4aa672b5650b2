package main

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/hookstream/hookstream/internal/worker"
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
	wc := worker.Config{Settings: cfg, KafkaOpts: opts, Rules: &rules.Store{},
		RulesSource: "topic " + cfg.Kafka.RulesTopic, Getenv: rulesGetenv(&cfg, c.getenv),
		Log: log, Tracing: traces, Version: version}
	if cfg.RulesFile != "" {
		set, err := loadRulesFile(cfg.RulesFile, wc.Getenv)
		if err != nil {
			return usageError{err}
		}
		wc.Rules, wc.RulesSource = newStore(set), "file "+cfg.RulesFile
	} else {
		err := worker.EnsureRulesTopic(ctx, &cfg, opts, log)
		if errors.As(err, new(*topic.NotCompactedError)) {
			return usagef("kafka.rules_topic (%s): %w", cfg.Origin("kafka.rules_topic"), err)
		}
		if err != nil {
			return err
		}
		wc.FollowRules = true
	}
	if wc.HTTP, err = net.Listen("tcp", cfg.HTTP); err != nil {
		return fmt.Errorf("http (%s): %w", cfg.Origin("http"), err)
	}
	return runWorker(ctx, wc)
}

// runWorker runs the worker of wc until ctx ends. OpenTelemetry's own
// errors go to the worker's log: the command owns the process, and with
// it OpenTelemetry's one handler per process.
func runWorker(ctx context.Context, wc worker.Config) error {
	logOTelErrors(wc.Log)
	w, err := worker.New(wc)
	if err == nil {
		err = w.Run(ctx)
	}
	if errors.Is(err, worker.ErrConfig) {
		return usageError{err}
	}
	return err
}
