package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/hookstream/hookstream/internal/config"
	"github.com/hookstream/hookstream/internal/telemetry"
	"github.com/hookstream/hookstream/rules"
	"github.com/hookstream/hookstream/rules/topic"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ensureRulesTopic creates the rules topic, compacted, if it is missing (and
// logs it), and refuses to start, as bad configuration, if it exists but is
// not compacted.
func ensureRulesTopic(ctx context.Context, cfg *config.Config, opts []kgo.Opt, log *slog.Logger) error {
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("kafka client: %w", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, rulesTopicTimeout)
	defer cancel()
	name := cfg.Kafka.RulesTopic
	created, err := topic.Ensure(ctx, kadm.NewClient(cl), name)
	if errors.As(err, new(*topic.NotCompactedError)) {
		return usagef("kafka.rules_topic (%s): %w", cfg.Origin("kafka.rules_topic"), err)
	}
	if err != nil {
		return fmt.Errorf("rules topic %s on %v: %w", name, cfg.Kafka.Brokers, err)
	}
	if created {
		log.Info("rules topic created", "topic", name, "cleanup.policy", "compact", "partitions", 1)
	}
	return nil
}

// rulesFollower returns the follower of the rules topic configured in cfg,
// reading into store with the same compile options as a rules file.
func rulesFollower(cfg *config.Config, opts []kgo.Opt, store *rules.Store, getenv func(string) string, log *slog.Logger) topic.Config {
	return topic.Config{
		Opts:    append(opts[:len(opts):len(opts)], kgo.WithLogger(kgoLogger(log.With("client", "rules")))),
		Topic:   cfg.Kafka.RulesTopic,
		Store:   store,
		Compile: rules.Options{Getenv: getenv},
		Logger:  log.With("part", "rules"),
	}
}

// followRules starts the worker's rules topic follower, if it has one (no
// rules file). It returns the follower (nil without one) and a function
// that stops it and waits for it.
func (w *worker) followRules(ctx context.Context, metrics *telemetry.Metrics) (*topic.Follower, func(), error) {
	if w.follow == nil {
		return nil, func() {}, nil
	}
	cfg := *w.follow
	cfg.Metrics = metrics
	f, err := topic.New(cfg)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := f.Run(ctx); err != nil {
			w.log.Error("rules topic follower stopped", "err", err)
		}
	}()
	return f, func() { cancel(); <-done }, nil
}
