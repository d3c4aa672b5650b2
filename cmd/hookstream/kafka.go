package main

import (
	"github.com/hookstream/hookstream/internal/config"
	"github.com/hookstream/hookstream/internal/kafkaconn"
	"github.com/twmb/franz-go/pkg/kgo"
)

// kafkaOpts returns the client options every hookstream client shares
// (internal/kafkaconn), the SASL password read from the environment.
// Problems are usage errors naming the key and where it was set.
func (c *cli) kafkaOpts(cfg *config.Config) ([]kgo.Opt, error) {
	opts, err := kafkaconn.Opts(cfg, c.getenv)
	if err != nil {
		return nil, usageError{err}
	}
	return opts, nil
}
