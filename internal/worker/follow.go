package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hookstream/hookstream/internal/config"
	"github.com/hookstream/hookstream/internal/telemetry"
	"github.com/hookstream/hookstream/rules"
	"github.com/hookstream/hookstream/rules/topic"
	"github.com/twmb/franz-go/pkg/kgo"
)

// rulesTopicTimeout bounds EnsureRulesTopic.
const rulesTopicTimeout = 30 * time.Second

// EnsureRulesTopic creates the rules topic, compacted, if it is missing (and
// logs it). A topic that exists but is not compacted is a
// *topic.NotCompactedError: the worker must not start on it.
func EnsureRulesTopic(ctx context.Context, s *config.Config, opts []kgo.Opt, log *slog.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, rulesTopicTimeout)
	defer cancel()
	name := s.Kafka.RulesTopic
	created, err := topic.EnsureWith(ctx, opts, name)
	if errors.As(err, new(*topic.NotCompactedError)) {
		return err // says it all; the caller names the setting
	}
	if err != nil {
		return fmt.Errorf("rules topic %s on %v: %w", name, s.Kafka.Brokers, err)
	}
	if created {
		log.Info("rules topic created", "topic", name, "cleanup.policy", "compact", "partitions", 1)
	}
	return nil
}

// followRules starts the rules topic follower, if the worker has one. It
// returns the follower (nil without one) and a function that stops it and
// waits for it.
func (w *Worker) followRules(ctx context.Context, metrics *telemetry.Metrics) (*topic.Follower, func(), error) {
	if !w.cfg.FollowRules {
		return nil, func() {}, nil
	}
	f, err := topic.New(topic.Config{
		Opts:    w.kafkaOpts("rules"),
		Topic:   w.cfg.Settings.Kafka.RulesTopic,
		Store:   w.cfg.Rules,
		Compile: rules.Options{Getenv: w.cfg.Getenv},
		Logger:  w.log.With("part", "rules"),
		Metrics: metrics,
	})
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
