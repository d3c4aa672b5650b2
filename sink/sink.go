package sink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookstream/hookstream/internal/deadletter"
	"github.com/hookstream/hookstream/internal/telemetry"
	"github.com/hookstream/hookstream/processor"
	"github.com/hookstream/hookstream/rules"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/trace"
)

// Config is everything a Sink needs. Zero values are documented defaults.
type Config struct {
	Producer *kgo.Client // writes dead letters and parked events; required
	// Large, when set, writes instead of Producer every record of more
	// than LargeFrom bytes (key, value and headers), such as the dead
	// letter of a too_large event: records too large for Producer's
	// batches (kgo's ProducerBatchMaxBytes, 1,000,012 bytes by default,
	// just under Kafka's default max.message.bytes), whose batches must
	// stay small enough for the broker. It should take records as large
	// as any the consumer reads and write them one at a time
	// (kgo.MaxBufferedRecords(1)), so that only the broker's
	// max.message.bytes refuses one (writer.go).
	Large      *kgo.Client
	LargeFrom  int
	DLQTopic   string // default deadletter.DefaultTopic
	RetryTopic string // default deadletter.DefaultRetryTopic
	// Group is the consumer group that reads RetryTopic. A parked action
	// reads the group's committed offsets there to learn when its parked
	// events are delivered, and only then delivers directly again (see
	// park.go). Empty: actions never park.
	Group string
	// HTTP sends the requests. Default: a client enforcing Egress, with
	// keep-alive pools sized for max_in_flight. Redirects are never followed (the Sink uses a copy
	// of the client with CheckRedirect set): a redirected POST would become
	// a GET, so a 3xx answer is a permanent failure. A dialer that refuses
	// an address should wrap ErrEndpointRefused.
	HTTP *http.Client
	// Egress is the delivery policy that HTTP enforces. The Sink applies it
	// to what it dials itself: the own transport of an action with tls
	// settings, and OAuth2 token endpoints (endpoint.go).
	Egress    Egress
	UserAgent string // default "hookstream/dev"
	Logger    *slog.Logger
	Metrics   *telemetry.Metrics

	// MaxBuffered bounds the events one action holds (queued, gathered and
	// in flight) before Send blocks. Default 10000.
	MaxBuffered int
	// Now is the wall clock for webhook-timestamp and Retry-After dates.
	// Default time.Now. Batch waits, backoffs and the breaker use the
	// runtime's timers.
	Now func() time.Time
	// Jitter draws a backoff in [0, d]. Default: uniform (full jitter).
	Jitter func(d time.Duration) time.Duration
	// IdleAfter is how long an action holds nothing before its goroutine
	// and timer are let go (idle.go). Default one minute.
	IdleAfter time.Duration
	// Tracer starts a client span per request (see trace.go). Nil: no spans.
	Tracer trace.Tracer
	// DeadLettered, when set, is told of each dead letter once the topic
	// acknowledged it (the status page lists the latest). It runs on the
	// producer's callback goroutine and must not block.
	DeadLettered func(deadletter.Letter)
}

// ErrClosed is returned by Send after Close.
var ErrClosed = errors.New("sink closed")

// Sink owns one goroutine, the request goroutines and a circuit breaker per
// action, and the dead-letter writer.
type Sink struct {
	cfg         Config
	client      *http.Client
	log         *slog.Logger
	metrics     *telemetry.Metrics
	dlqTopic    string
	userAgent   string
	maxBuffered int
	now         func() time.Time
	jitter      func(time.Duration) time.Duration
	tracer      trace.Tracer

	ctx    context.Context // ends when Close gives up on what is left
	cancel context.CancelFunc
	track  tracker
	writer *topicWriter // dead letters and parked events
	wg     sync.WaitGroup

	share atomic.Pointer[share] // this worker's part of every rate_limit (ratelimit.go)

	mu      sync.Mutex
	runners map[string]*runner
	closed  bool
}

// New checks cfg and returns a running Sink. Close stops it.
func New(cfg Config) (*Sink, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Sink{
		cfg:         cfg,
		client:      cfg.HTTP,
		log:         cfg.Logger,
		metrics:     cfg.Metrics,
		dlqTopic:    cfg.DLQTopic,
		userAgent:   cfg.UserAgent,
		maxBuffered: cfg.MaxBuffered,
		now:         cfg.Now,
		jitter:      cfg.Jitter,
		tracer:      cfg.Tracer,
		runners:     map[string]*runner{},
	}
	if s.client == nil {
		s.client = &http.Client{Transport: EgressTransport(cfg.Egress)}
	} else {
		c := *s.client
		s.client = &c
	}
	s.client.CheckRedirect = noRedirects
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.metrics == nil {
		s.metrics = telemetry.Noop()
	}
	if s.dlqTopic == "" {
		s.dlqTopic = deadletter.DefaultTopic
	}
	if s.userAgent == "" {
		s.userAgent = "hookstream/dev"
	}
	if s.maxBuffered <= 0 {
		s.maxBuffered = 10000
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.jitter == nil {
		s.jitter = func(d time.Duration) time.Duration {
			if d <= 0 {
				return 0
			}
			return rand.N(d + 1)
		}
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.writer = newTopicWriter(s.ctx, cfg.Producer, s.log)
	s.writer.large, s.writer.largeFrom = cfg.Large, cfg.LargeFrom
	s.wg.Go(s.writer.run)
	return s, nil
}

// validate reports every problem at once.
func (c Config) validate() error {
	var errs []error
	if c.Producer == nil {
		errs = append(errs, errors.New("producer: required, to write dead letters and parked events"))
	}
	if c.MaxBuffered < 0 {
		errs = append(errs, fmt.Errorf("max buffered %d: want > 0, or 0 for the default", c.MaxBuffered))
	}
	if c.IdleAfter < 0 {
		errs = append(errs, fmt.Errorf("idle after %s: want > 0, or 0 for the default", c.IdleAfter))
	}
	if c.DLQTopic != "" && c.DLQTopic == c.RetryTopic {
		errs = append(errs, fmt.Errorf("dead-letter and retry topic are both %s: want two topics", c.DLQTopic))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sink config: %w", err)
	}
	return nil
}

// Send queues one rendered event for action a, to url. ack.Done is called
// exactly once, when the event was delivered (2xx) or dead-lettered (write
// acknowledged), from a goroutine of the Sink. body must stay unchanged
// until then. Send blocks while the action holds Config.MaxBuffered events,
// until ctx ends; it then returns ctx's error and ack is never done. An
// event whose ack reports Withdrawn before it is sent or parked is dropped,
// and ack is never done either: its partition's next owner delivers it.
// ack may be nil.
func (s *Sink) Send(ctx context.Context, a *rules.Compiled, url string, body []byte, rec *kgo.Record, ack processor.Ack) error {
	return s.send(ctx, a, url, body, rec, ack, false)
}

// SendParked is Send for an event read back from the retry topic: src is
// its source record, as internal/deadletter.Decode restores it, so that the
// Idempotency-Key, trace links, latency and any dead letter are the source
// event's. It goes through the action's retry lane (retrytopic.go), which
// delivers it but never parks it again, and never blocks.
func (s *Sink) SendParked(ctx context.Context, a *rules.Compiled, url string, body []byte, src *kgo.Record, ack processor.Ack) error {
	return s.send(ctx, a, url, body, src, ack, true)
}

func (s *Sink) send(ctx context.Context, a *rules.Compiled, url string, body []byte, rec *kgo.Record, ack processor.Ack, parked bool) error {
	if a == nil {
		return errors.New("send: nil action")
	}
	src, err := s.runner(a.ID)
	if err != nil {
		return fmt.Errorf("send to action %s: %w", a.ID, err)
	}
	defer src.release() // once the event is in the channel, or not sent
	r := src
	if parked {
		r, err = s.lane(src)
	}
	if err != nil {
		return fmt.Errorf("send to action %s: %w", a.ID, err)
	}
	it := item{body: body, rec: rec, ack: ack, gen: s.track.add(), ages: r.ages}
	if rec != nil {
		it.sec = second(rec.Timestamp)
	} else {
		it.sec = second(time.Time{})
	}
	r.ages.add(it.sec)
	if r.waiting != nil {
		it.waiting, it.arrived = r.waiting, time.Now().Unix()
		r.waiting.add(it.arrived)
	}
	select {
	case r.in <- arrival{a: a, url: url, it: it}:
		return nil
	case <-ctx.Done():
		s.abandon(it)
		return fmt.Errorf("send to action %s: %w", a.ID, ctx.Err())
	case <-s.ctx.Done():
		s.abandon(it)
		return fmt.Errorf("send to action %s: %w", a.ID, ErrClosed)
	}
}

// runner returns the action's runner, starting it on first use (or first
// use since it retired, idle.go), and counts a use of it: the caller must
// release it once its event is in the runner's channel or given up.
func (s *Sink) runner(id string) (*runner, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	r := s.runners[id]
	if r == nil {
		r = newRunner(s, id)
		s.runners[id] = r
		s.startSeries(r.attrs)
		s.wg.Go(func() { r.run(s.ctx) })
	}
	r.users.Add(1)
	return r, nil
}

// done reports one event done to the caller and to Flush.
func (s *Sink) done(it item) {
	if it.ack != nil {
		it.ack.Done()
	}
	s.abandon(it)
}

// abandon stops counting an event without calling its done: Flush no
// longer waits for it and it no longer counts as pending.
func (s *Sink) abandon(it item) {
	if it.waiting != nil {
		it.waiting.done(it.arrived)
	}
	if it.ages != nil {
		it.ages.done(it.sec)
	}
	s.track.release(it.gen)
}

// Flush sends every partial batch now and waits until everything handed to
// Send and DeadLetter before the call is done, or ctx ends. Events whose
// dead-letter write was abandoned because its context ended are not
// waited for.
func (s *Sink) Flush(ctx context.Context) error {
	s.mu.Lock()
	for _, r := range s.runners {
		select {
		case r.flush <- struct{}{}:
		default: // a flush is already pending; it will drain our events too
		}
	}
	s.mu.Unlock()
	if err := s.track.wait(ctx); err != nil {
		return fmt.Errorf("flush: %d events not done: %w", s.track.pending(), err)
	}
	return nil
}

// Close flushes (up to ctx), then stops every goroutine the Sink started
// and waits for them. Events still undelivered then are left undone, so
// their offsets are not committed and they are delivered again after a
// restart. Close does not close the Producer.
func (s *Sink) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.mu.Unlock()
	err := s.Flush(ctx)
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	s.closeEndpoints()
	return err
}

// BreakerStates returns each action's circuit state for the
// hookstream_circuit_state gauge: StateClosed (0), StateHalfOpen (1) or
// StateOpen (2).
func (s *Sink) BreakerStates() map[string]int {
	s.mu.Lock()
	runners := make([]*runner, 0, len(s.runners))
	for _, r := range s.runners {
		runners = append(runners, r)
	}
	s.mu.Unlock()
	out := make(map[string]int, len(runners))
	for _, r := range runners {
		if br := r.br.Load(); br != nil {
			out[r.id] = br.State()
		}
	}
	return out
}
