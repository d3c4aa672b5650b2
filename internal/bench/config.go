package bench

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/hookstream/hookstream/internal/config"
	"github.com/hookstream/hookstream/rules"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Config says what to measure. Zero values are the documented defaults.
type Config struct {
	// Brokers are the seed brokers of a real cluster. Empty: an embedded
	// broker is started in this process (its CPU and memory count as this
	// process's).
	Brokers []string
	// ClientOpts are added to every Kafka client the benchmark makes (TLS,
	// SASL). The seed brokers are set by the benchmark.
	ClientOpts []kgo.Opt
	// URL is the webhook endpoint of the default action. Empty: a loopback
	// receiver in this process that verifies every X-Signature.
	URL string
	// Topic is created for the run (and deleted after it on a real
	// cluster). Default: "hookstream.bench.<random>".
	Topic string

	Events     int     // backlog size; default 1,000,000
	Size       int     // bytes per event, about; default 400
	Partitions int     // of the topic; default 8
	Match      float64 // share of events the default action wants, 0..1; default 0.5; NoMatch for none

	// Runs repeats the raw and pipeline phases, alternately, on the same
	// backlog (each pipeline run with a fresh group); the best of each is
	// reported. On a shared machine the best of a few runs is the figure
	// least disturbed by other work. Default 1.
	Runs int

	// Rate is the events per second of the latency phase; default 1000.
	Rate float64
	// LatencyFor is how long the latency phase produces; default 5s.
	// Negative skips the phase.
	LatencyFor time.Duration
	// BatchWait is the default action's batch.wait; default 1s.
	BatchWait time.Duration

	// Rules replaces the default actions (their URLs are used as written).
	Rules *rules.Set
	// Actions, when above zero, replaces the default actions with that
	// many: the one that wants "Order Completed" and Actions-1 batched
	// actions that each want a track event no event is ("Custom Event
	// <i>"), to measure what the number of actions costs. Not with Rules.
	Actions int
	// Secret signs the default action and is what the loopback receiver
	// verifies with. Default DefaultSecret.
	Secret []byte

	// Worker holds the worker's settings, as `hookstream run` reads them
	// (kafka TLS and SASL, delivery policy, limits); the benchmark sets
	// brokers, topics, group and HTTP address. Nil: config.Default().
	Worker *config.Config
	// Version is the worker's version, sent as its User-Agent.
	Version string

	// CPUProfile, when set, receives a CPU profile of the (last) pipeline
	// phase. MemProfileBefore and MemProfile receive heap profiles taken
	// just before and just after it (compare them with pprof -base).
	CPUProfile, MemProfileBefore, MemProfile io.Writer

	// Log receives the benchmark's own logs; Progress, one line per phase
	// as it starts. Nil discards them.
	Log      *slog.Logger
	Progress io.Writer
}

// Defaults.
const (
	DefaultEvents     = 1_000_000
	DefaultSize       = 400
	DefaultPartitions = 8
	DefaultMatch      = 0.5
	DefaultRate       = 1000
	DefaultLatencyFor = 5 * time.Second
	DefaultBatchWait  = time.Second
	DefaultSecret     = "hookstream-bench-secret"

	// MaxActions is the most Config.Actions generates.
	MaxActions = 100_000

	// NoMatch as Config.Match: no event is one the default action wants.
	NoMatch = -1
)

func (c Config) withDefaults() Config {
	if c.Events == 0 {
		c.Events = DefaultEvents
	}
	if c.Size == 0 {
		c.Size = DefaultSize
	}
	if c.Partitions == 0 {
		c.Partitions = DefaultPartitions
	}
	switch c.Match {
	case 0:
		c.Match = DefaultMatch
	case NoMatch:
		c.Match = 0
	}
	if c.Runs == 0 {
		c.Runs = 1
	}
	if c.Rate == 0 {
		c.Rate = DefaultRate
	}
	if c.LatencyFor == 0 {
		c.LatencyFor = DefaultLatencyFor
	}
	if c.BatchWait == 0 {
		c.BatchWait = DefaultBatchWait
	}
	if len(c.Secret) == 0 {
		c.Secret = []byte(DefaultSecret)
	}
	if c.Worker == nil {
		d := config.Default()
		c.Worker = &d
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	return c
}

// Check reports every problem of c at once, each naming its flag.
func (c Config) Check() error {
	var errs []error
	if c.Match != NoMatch && (c.Match < 0 || c.Match > 1) {
		errs = append(errs, fmt.Errorf("--match %g: want 0..1", c.Match))
	}
	c = c.withDefaults()
	if c.Events < 1 || c.Events > 100_000_000 {
		errs = append(errs, fmt.Errorf("--events %d: want 1..100000000", c.Events))
	}
	if c.Size < 200 || c.Size > 1<<20 {
		errs = append(errs, fmt.Errorf("--size %d: want 200..1048576 bytes", c.Size))
	}
	if c.Partitions < 1 || c.Partitions > 1000 {
		errs = append(errs, fmt.Errorf("--partitions %d: want 1..1000", c.Partitions))
	}
	if c.Runs < 1 || c.Runs > 10 {
		errs = append(errs, fmt.Errorf("--runs %d: want 1..10", c.Runs))
	}
	if c.Rate < 0 || c.Rate > 100_000 {
		errs = append(errs, fmt.Errorf("--rate %g: want 0 < rate <= 100000", c.Rate))
	}
	if c.BatchWait < 0 || c.BatchWait > time.Minute {
		errs = append(errs, fmt.Errorf("--batch-wait %s: want 0..1m", c.BatchWait))
	}
	if c.Actions < 0 || c.Actions > MaxActions {
		errs = append(errs, fmt.Errorf("--actions %d: want 1..%d", c.Actions, MaxActions))
	}
	if c.Actions > 0 && c.Rules != nil {
		errs = append(errs, errors.New("--actions and --rules: want one of them"))
	}
	return errors.Join(errs...)
}
