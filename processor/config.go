package processor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/hookstream/hookstream/internal/deadletter"
	"github.com/hookstream/hookstream/internal/telemetry"
	"github.com/hookstream/hookstream/rules"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Sink delivers matched events and dead letters. *sink.Sink implements it;
// the processor declares only what it calls.
//
// Every hand-over comes with its Ack, whose Done the sink calls exactly once
// when the hand-over is finished (delivered with a 2xx, or its dead letter
// acknowledged), from any goroutine, or never: if ctx ends before Send
// returns, or if the sink drops the event because the Ack reports
// Withdrawn. A record is done when every Ack it was handed with is.
type Sink interface {
	// Send queues one rendered event for action a. It blocks while the
	// action's queue is full, and returns an error only when ctx ends first
	// (then ack is never done). body must stay unchanged until ack is done.
	Send(ctx context.Context, a *rules.Compiled, url string, body []byte, rec *kgo.Record, ack Ack) error
	// SendParked is Send for an event parked by action a and read back from
	// the retry topic; src is the source record it carries
	// (internal/deadletter.Decode). It never parks the event again.
	SendParked(ctx context.Context, a *rules.Compiled, url string, body []byte, src *kgo.Record, ack Ack) error
	// DeadLetter writes rec, a source record, to the dead-letter topic
	// asynchronously; ack is done after the write is acknowledged.
	DeadLetter(ctx context.Context, rec *kgo.Record, reason deadletter.Reason, action string, cause error, ack Ack)
	// Flush delivers everything handed over so far, or returns when ctx ends.
	Flush(ctx context.Context) error
}

// Ack is one hand-over's acknowledgement: the ledger slot of the record
// handed over (checkpoint.go).
type Ack interface {
	// Done reports the hand-over finished: the event delivered, or its dead
	// letter acknowledged. Call it once; it must not block.
	Done()
	// Withdrawn reports whether the hand-over was taken back: the record's
	// partition was revoked or lost, or shutdown gave up on it. Its next
	// owner delivers it from the committed offset, so the sink drops it if
	// it has not sent (or parked) it yet, rather than make a duplicate;
	// what is already in a request may still be delivered. Done is then
	// never needed, and counts for nothing.
	Withdrawn() bool
}

// Config is everything a Processor needs. Zero values are documented defaults.
type Config struct {
	// Opts connect the client: seed brokers, TLS, SASL, logging, and may
	// tune fetching (isolation level, reset offset, sizes). The processor
	// sets the group, topics, balancer, commit options and rebalance
	// callbacks itself, and those take precedence.
	Opts []kgo.Opt
	// Topics are the source topics (at least one).
	Topics []string
	// RetryTopic, when set, is consumed along with Topics (New adds it). Its
	// records are parked events (retry.go): each is handed to the sink for
	// the one action its hookstream-action header names, in that action's
	// current version, and committed by the same rule as source records.
	RetryTopic string
	// Group is the consumer group id (required).
	Group string
	// Rules holds the current actions; it is read once per record (required).
	Rules *rules.Store
	// Sink receives matched events and dead letters (required).
	Sink Sink
	// MaxEventBytes is the largest record value decoded; larger ones are
	// dead-lettered as too_large. Default 1 MiB.
	MaxEventBytes int
	// MaxBuffered bounds the records fetched and not yet done, across all
	// partitions. Default 100000.
	MaxBuffered int
	// MaxBufferedBytes bounds the bytes of those records' values; fetch
	// sizes follow it (flow.go). A single record larger than the room left
	// is still taken when nothing else is in hand. Default 256 MiB.
	MaxBufferedBytes int64
	// CommitInterval is how often marked offsets are committed. Default 1s;
	// at least MinCommitInterval.
	CommitInterval time.Duration
	// ShutdownTimeout bounds the hand-off and flush at shutdown. Default 30s.
	ShutdownTimeout time.Duration
	// Logger receives lifecycle and error logs. Nil discards them.
	Logger *slog.Logger
	// Metrics records hookstream_events_consumed_total and
	// hookstream_events_matched_total. Nil records nothing.
	Metrics *telemetry.Metrics
	// Ready, when set, is awaited before the processor joins the group, so
	// no partition is held by a member that cannot process it yet (the rules
	// topic catch-up plugs in here). An error ends Run.
	Ready func(ctx context.Context) error
	// OnAssigned, when set, is told after every rebalance how many of the
	// source topics' partitions this member owns, of how many in all
	// (assignment.go). It is called from one goroutine and must not block.
	OnAssigned func(owned, total int)
}

// Defaults from the product contract.
const (
	DefaultMaxEventBytes    = 1 << 20
	DefaultMaxBuffered      = 100_000
	DefaultMaxBufferedBytes = 256 << 20
	DefaultCommitInterval   = time.Second
	DefaultShutdownTimeout  = 30 * time.Second

	// MinCommitInterval is the shortest commit interval kgo accepts.
	MinCommitInterval = 100 * time.Millisecond
)

// withDefaults fills the zero values.
func (c Config) withDefaults() Config {
	if c.RetryTopic != "" && !slices.Contains(c.Topics, c.RetryTopic) {
		c.Topics = append(slices.Clip(c.Topics), c.RetryTopic)
	}
	if c.MaxEventBytes == 0 {
		c.MaxEventBytes = DefaultMaxEventBytes
	}
	if c.MaxBuffered == 0 {
		c.MaxBuffered = DefaultMaxBuffered
	}
	if c.MaxBufferedBytes == 0 {
		c.MaxBufferedBytes = DefaultMaxBufferedBytes
	}
	if c.CommitInterval == 0 {
		c.CommitInterval = DefaultCommitInterval
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Metrics == nil {
		c.Metrics = telemetry.Noop()
	}
	return c
}

// validate reports every problem at once.
func (c Config) validate() error {
	var errs []error
	if len(c.Topics) == 0 {
		errs = append(errs, errors.New("topics: want at least one"))
	}
	for i, t := range c.Topics {
		if t == "" {
			errs = append(errs, fmt.Errorf("topics[%d]: empty name", i))
		}
	}
	if c.Group == "" {
		errs = append(errs, errors.New("group: required"))
	}
	if c.Rules == nil {
		errs = append(errs, errors.New("rules: required"))
	}
	if c.Sink == nil {
		errs = append(errs, errors.New("sink: required"))
	}
	if c.MaxEventBytes < 0 {
		errs = append(errs, fmt.Errorf("max_event_bytes %d: want > 0", c.MaxEventBytes))
	}
	if c.MaxBuffered < 0 {
		errs = append(errs, fmt.Errorf("max_buffered_events %d: want > 0", c.MaxBuffered))
	}
	if c.MaxBufferedBytes < 0 {
		errs = append(errs, fmt.Errorf("max_buffered_bytes %d: want > 0", c.MaxBufferedBytes))
	}
	if c.CommitInterval < MinCommitInterval {
		errs = append(errs, fmt.Errorf("commit_interval %s: want at least %s", c.CommitInterval, MinCommitInterval))
	}
	if c.ShutdownTimeout < 0 {
		errs = append(errs, fmt.Errorf("shutdown_timeout %s: want > 0", c.ShutdownTimeout))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("processor config: %w", err)
	}
	return nil
}
