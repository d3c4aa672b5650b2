package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookstream/hookstream/internal/config"
	"github.com/hookstream/hookstream/internal/telemetry"
	"github.com/hookstream/hookstream/processor"
	"github.com/hookstream/hookstream/rules"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ErrConfig is wrapped by the errors of a configuration that cannot work;
// the command reports them as bad usage.
var ErrConfig = errors.New("bad worker configuration")

// Config is everything a Worker needs. Settings must have passed
// config.Validate.
type Config struct {
	Settings config.Config
	// KafkaOpts connect every client: seed brokers, TLS, SASL. The worker
	// adds its own logging and timing options.
	KafkaOpts []kgo.Opt
	// Rules holds the actions (required). With FollowRules it may start
	// empty: the worker fills it from the rules topic.
	Rules *rules.Store
	// RulesSource says where the rules come from, for the status page.
	RulesSource string
	// FollowRules reads the actions from kafka.rules_topic into Rules,
	// compiled with Getenv; the worker joins its group only once the topic
	// is read to its end, and /readyz fails until then.
	FollowRules bool
	Getenv      func(string) string
	// HTTP serves /metrics, the probes and the status page (required). It
	// is bound by the caller so that port problems show before anything
	// starts.
	HTTP net.Listener
	// Log receives every part's logs. Nil discards them.
	Log *slog.Logger
	// Tracing says where delivery spans go; the zero value: nowhere.
	Tracing telemetry.TracingConfig
	// Version is shown on the status page and sent as the User-Agent.
	Version string
	// WrapHTTP, when set, wraps the delivery HTTP client (nil meaning the
	// sink's default); `hookstream bench` uses it to see each answer.
	WrapHTTP func(*http.Client) *http.Client
}

// Worker is one consumer-group member with everything around it: the
// producer for dead letters and parked events, the sink, the processor,
// the rules topic follower, the gauges and the HTTP server. `run`, `dev`
// and `bench` all start it, so each exercises exactly the production path.
type Worker struct {
	cfg    Config
	log    *slog.Logger
	health *kafkaHealth // of every client's connections and requests

	proc    atomic.Pointer[processor.Processor]
	started chan struct{} // closed once proc is set
	once    sync.Once
	ran     atomic.Bool
}

// New checks cfg and returns a Worker; Run starts it.
func New(cfg Config) (*Worker, error) {
	var errs []error
	if cfg.Rules == nil {
		errs = append(errs, errors.New("no rules store"))
	}
	if cfg.HTTP == nil {
		errs = append(errs, errors.New("no HTTP listener"))
	}
	if len(cfg.Settings.Kafka.Topics) == 0 || cfg.Settings.Kafka.Group == "" {
		errs = append(errs, errors.New("no topics or no group"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Getenv == nil {
		cfg.Getenv = func(string) string { return "" }
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	return &Worker{cfg: cfg, log: cfg.Log, health: newKafkaHealth(), started: make(chan struct{})}, nil
}

// Started is closed once the worker's processor exists, from when
// Partitions reports on it.
func (w *Worker) Started() <-chan struct{} { return w.started }

// Partitions returns the status of the partitions the worker owns now;
// nil before Started.
func (w *Worker) Partitions() []processor.PartitionStatus {
	if p := w.proc.Load(); p != nil {
		return p.Partitions()
	}
	return nil
}

// Run works until ctx ends, then shuts down in the reverse order of the
// data: the processor stops fetching, hands what it holds to the sink and
// commits what is done; the sink finishes; the producer flushes the last
// dead letters; the HTTP server stops last, so /metrics and /readyz answer
// until the end. shutdown_timeout is one budget for all of it, counted from
// the moment ctx ends.
func (w *Worker) Run(ctx context.Context) error {
	if !w.ran.CompareAndSwap(false, true) {
		return errors.New("worker: Run called twice")
	}
	s := &w.cfg.Settings
	tel, err := startTelemetry(ctx, w.cfg.Tracing)
	if err != nil {
		return err
	}
	defer tel.stopTracing(ctx, w.log)

	producer, err := kgo.NewClient(w.kafkaOpts("producer", producerOpts(s)...)...)
	if err != nil {
		return fmt.Errorf("create producer: %w", err)
	}
	defer producer.Close()
	large, err := kgo.NewClient(w.kafkaOpts("producer-large", largeProducerOpts()...)...)
	if err != nil {
		return fmt.Errorf("create producer: %w", err)
	}
	defer large.Close()
	dead := &deadLetters{now: time.Now}
	snk, err := w.newSink(producer, large, tel, dead)
	if err != nil {
		return err
	}

	// Rules from a file are loaded before the worker starts, so the
	// processor has nothing to wait for (Ready is nil); rules from the
	// topic are waited for.
	follower, stopFollowing, err := w.followRules(ctx, tel.metrics)
	if err != nil {
		return err
	}
	defer stopFollowing()
	var rulesReady func(context.Context) error
	if follower != nil {
		rulesReady = follower.Ready
	}
	proc, err := processor.New(processor.Config{
		Opts:             w.kafkaOpts("consumer", consumerOpts(s)...),
		Topics:           s.Kafka.Topics,
		RetryTopic:       s.Kafka.RetryTopic, // parked events come back through the same group
		Group:            s.Kafka.Group,
		Rules:            w.cfg.Rules,
		Sink:             snk,
		MaxEventBytes:    s.MaxEventBytes,
		MaxBuffered:      s.MaxBufferedEvents,
		MaxBufferedBytes: int64(s.MaxBufferedBytes),
		CommitInterval:   s.CommitInterval,
		ShutdownTimeout:  s.ShutdownTimeout,
		Logger:           w.log.With("part", "processor"),
		Metrics:          tel.metrics,
		Ready:            rulesReady,
		OnAssigned:       snk.OnAssigned, // each action's rate_limit is shared by the partitions owned
	})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	w.proc.Store(proc)
	w.once.Do(func() { close(w.started) })

	var stopping atomic.Bool
	src := sources{
		partitions: proc.Partitions,
		breakers:   snk.BreakerStates,
		oldest:     snk.OldestPending,
		inHand:     proc.InHand,
		store:      w.cfg.Rules,
		readings:   tel.prov.Read,
		dead:       dead.list,
		ready: func() error {
			if stopping.Load() {
				return errors.New("shutting down")
			}
			if err := w.health.waiting(); err != nil {
				return err
			}
			switch {
			case follower != nil && !follower.CaughtUp():
				return errors.New("reading the rules topic " + s.Kafka.RulesTopic)
			case !proc.Joining():
				return errors.New("not consuming yet")
			}
			return nil
		},
	}
	unregister, err := registerGauges(tel.prov.Meter("hookstream"), src, tel.metrics, s.Kafka.Topics)
	if err != nil {
		return fmt.Errorf("create gauges: %w", err)
	}
	defer unregister()

	st := &status{
		version: w.cfg.Version,
		started: time.Now(),
		brokers: s.Kafka.Brokers,
		topics:  s.Kafka.Topics,
		group:   s.Kafka.Group,
		source:  w.cfg.RulesSource,
		src:     src,
	}
	httpCtx, stopHTTP := context.WithCancel(context.WithoutCancel(ctx))
	httpDone := Serve(httpCtx, w.cfg.HTTP, handler(st, tel.prov.Registry), 5*time.Second, w.log)
	w.log.Info("worker started", "version", w.cfg.Version, "brokers", s.Kafka.Brokers,
		"topics", s.Kafka.Topics, "group", s.Kafka.Group, "rules", w.cfg.RulesSource,
		"actions", len(w.cfg.Rules.Load().Actions), "http", w.cfg.HTTP.Addr().String())

	// The processor's flush spends most of the shutdown budget; closing
	// the sink and producer gets what is left (at least a second to stop).
	var stopAt atomic.Int64
	stopClock := context.AfterFunc(ctx, func() { stopAt.Store(time.Now().UnixNano()) })
	defer stopClock()

	runErr := proc.Run(ctx)
	stopping.Store(true)
	w.log.Info("worker stopping")

	left := s.ShutdownTimeout
	if at := stopAt.Load(); at != 0 {
		left -= time.Since(time.Unix(0, at))
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), max(left, time.Second))
	defer cancel()
	var errs []error
	if runErr != nil && !errors.Is(runErr, context.Canceled) {
		errs = append(errs, fmt.Errorf("processor: %w", runErr))
	}
	if err := snk.Close(sctx); err != nil {
		errs = append(errs, fmt.Errorf("close sink: %w", err))
	}
	if err := errors.Join(producer.Flush(sctx), large.Flush(sctx)); err != nil {
		errs = append(errs, fmt.Errorf("flush dead letters: %w", err))
	}
	stopHTTP()
	<-httpDone
	if err := tel.prov.Shutdown(sctx); err != nil {
		errs = append(errs, fmt.Errorf("stop metrics: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	w.log.Info("worker stopped")
	return nil
}
