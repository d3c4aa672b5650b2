package sink

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/hookstream/hookstream/internal/telemetry"
	"github.com/hookstream/hookstream/rules"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Config is everything a Sink needs. Zero values are documented defaults.
type Config struct {
	Producer   *kgo.Client // writes dead letters (and, later, parked events); required
	DLQTopic   string      // default "hookstream.dlq"
	RetryTopic string      // default "hookstream.retry"
	HTTP       *http.Client
	UserAgent  string // default "hookstream/<version>"
	Logger     *slog.Logger
	Metrics    *telemetry.Metrics
}

// Sink owns one batcher goroutine, delivery workers and a circuit breaker per
// action, and the dead-letter writer.
type Sink struct{ cfg Config }

// New returns a running Sink.
func New(cfg Config) *Sink { return &Sink{cfg: cfg} }

// Send queues one rendered event for action a. done is called exactly once,
// when the event was delivered (2xx) or dead-lettered (write acknowledged).
// Send blocks while the action's queue is full, until ctx ends.
func (s *Sink) Send(ctx context.Context, a *rules.Compiled, url string, body []byte, rec *kgo.Record, done func()) error {
	return errors.New("TODO")
}

// DeadLetter writes rec to the dead-letter topic with reason (decode,
// too_large, rejected, retries_exhausted, mapping), the action id (may be
// empty) and cause; done is called once the write is acknowledged. Failed
// writes are retried until ctx ends; done is never called for a lost write.
func (s *Sink) DeadLetter(ctx context.Context, rec *kgo.Record, reason, action string, cause error, done func()) {
}

// Flush sends every partial batch now and waits until everything handed to
// Send so far is done or ctx ends.
func (s *Sink) Flush(ctx context.Context) error { return errors.New("TODO") }

// Close flushes, then stops every goroutine the Sink started.
func (s *Sink) Close(ctx context.Context) error { return s.Flush(ctx) }
