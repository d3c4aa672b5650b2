package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"

	"github.com/hookstream/hookstream/internal/config"
	"github.com/hookstream/hookstream/internal/kafkaconn"
	"github.com/twmb/franz-go/pkg/kgo"
)

// checkBrokers connects to the brokers once before the worker starts
// (kafkaconn.Check): settings the brokers refuse end the process at once,
// as bad usage naming the setting; brokers that cannot be reached at all
// are only warned about, since they may still be starting and the clients
// keep trying.
func checkBrokers(ctx context.Context, cfg *config.Config, opts []kgo.Opt, log *slog.Logger) error {
	err := kafkaconn.Check(ctx, cfg, opts)
	var refused *kafkaconn.RefusedError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &refused):
		return usageError{err}
	case ctx.Err() != nil && errors.Is(ctx.Err(), context.Canceled):
		return nil // shutting down before we started; run sees it too
	}
	log.Warn("kafka brokers not reachable yet, will keep trying", "brokers", cfg.Kafka.Brokers, "error", err)
	return nil
}

// checkBrokersOnce is checkBrokers for one-shot commands (rules apply, list,
// delete; lag; dlq): a refusal ends the command with the same message, and
// brokers that cannot be reached are left to the command's own error.
func checkBrokersOnce(ctx context.Context, cfg *config.Config, opts []kgo.Opt) error {
	return checkBrokers(ctx, cfg, opts, slog.New(slog.DiscardHandler))
}

// connect loads the configuration of a command that talks to Kafka and
// returns it with the client options, once the brokers took them.
func (c *cli) connect(ctx context.Context, fs *flag.FlagSet, cf *configFlags) (*config.Config, []kgo.Opt, error) {
	cfg, err := c.loadConfig(fs, cf)
	if err != nil {
		return nil, nil, err
	}
	opts, err := c.kafkaOpts(&cfg)
	if err != nil {
		return nil, nil, err
	}
	if err := checkBrokersOnce(ctx, &cfg, opts); err != nil {
		return nil, nil, err
	}
	return &cfg, opts, nil
}
