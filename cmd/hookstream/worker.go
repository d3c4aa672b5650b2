package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"github.com/hookstream/hookstream/internal/config"
	"github.com/hookstream/hookstream/internal/telemetry"
	"github.com/hookstream/hookstream/processor"
	"github.com/hookstream/hookstream/rules"
	"github.com/hookstream/hookstream/rules/topic"
	"github.com/hookstream/hookstream/sink"
	"github.com/twmb/franz-go/pkg/kgo"
)

// worker is one consumer-group member with everything around it: the
// producer for dead letters, the sink, the processor and the HTTP server.
// `run` and `dev` both start it, so dev exercises exactly the production path.
type worker struct {
	cfg    *config.Config
	opts   []kgo.Opt    // from kafkaOpts
	store  *rules.Store // loaded before the worker starts, or filled by follow
	source string       // where the rules came from, for the status page
	// follow, when set (no rules file), reads the actions from the rules
	// topic into store: the processor joins its group only once the topic
	// is read to its end, and /readyz fails until then.
	follow *topic.Config
	httpLn net.Listener // bound by the caller so that port problems show early
	log    *slog.Logger

	// tracing says where delivery spans go; the zero value: nowhere.
	tracing telemetry.TracingConfig

	// Set by `hookstream bench` only, nil otherwise: started receives the
	// processor's partition status once it exists, and wrapHTTP wraps the
	// delivery client (nil meaning the sink's default) to see answers.
	started  func(status func() []processor.PartitionStatus)
	wrapHTTP func(*http.Client) *http.Client
}

// run works until ctx ends, then shuts down in order: the processor stops
// fetching, delivers what it holds and commits; the sink finishes; the
// producer flushes its last dead letters; the HTTP server stops last.
func (w *worker) run(ctx context.Context) error {
	prov, err := telemetry.NewPrometheus()
	if err != nil {
		return fmt.Errorf("start metrics: %w", err)
	}
	metrics, err := telemetry.New(prov.Meter("hookstream"))
	if err != nil {
		return fmt.Errorf("create metrics: %w", err)
	}
	logOTelErrors(w.log)
	tracing, err := telemetry.NewTracing(ctx, w.tracing)
	if err != nil {
		return fmt.Errorf("start tracing: %w", err)
	}
	defer func() {
		// Last, so every span has ended. A collector that cannot be
		// reached costs at most this long and does not fail the exit.
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := tracing.Shutdown(tctx); err != nil {
			w.log.Warn("spans not exported at exit", "err", err)
		}
	}()

	producer, err := kgo.NewClient(slices.Concat(w.opts, []kgo.Opt{
		kgo.ProducerLinger(5 * time.Millisecond),
		kgo.WithLogger(kgoLogger(w.log.With("client", "producer"))),
	})...)
	if err != nil {
		return fmt.Errorf("create producer: %w", err)
	}
	defer producer.Close()

	httpClient := deliveryClient(w.cfg.Delivery)
	if w.wrapHTTP != nil {
		httpClient = w.wrapHTTP(httpClient)
	}
	snk := sink.New(sink.Config{
		Producer:   producer,
		DLQTopic:   w.cfg.Kafka.DLQTopic,
		RetryTopic: w.cfg.Kafka.RetryTopic,
		Group:      w.cfg.Kafka.Group, // whose commits on the retry topic tell a parked action it may unpark
		HTTP:       httpClient,
		UserAgent:  "hookstream/" + version,
		Logger:     w.log.With("part", "sink"),
		Metrics:    metrics,
		Tracer:     tracing.Tracer("sink"),
		// max_buffered_events bounds the processor, which holds every
		// record until done. One action may hold a tenth of it (10000 by
		// default): a failing action that fills that parks at once, long
		// before it could use up the budget and stall the others.
		MaxBuffered: max(1, w.cfg.MaxBufferedEvents/10),
	})

	// Rules from a file are loaded before the worker starts, so the
	// processor has nothing to wait for (Ready is nil); rules from the
	// topic are waited for.
	follower, stopFollowing, err := w.followRules(ctx, metrics)
	if err != nil {
		return err
	}
	defer stopFollowing()
	var rulesReady func(context.Context) error
	if follower != nil {
		rulesReady = follower.Ready
	}
	var stopping atomic.Bool
	proc, err := processor.New(processor.Config{
		Opts: slices.Concat(w.opts, []kgo.Opt{kgo.WithLogger(kgoLogger(w.log.With("client", "consumer"))),
			// Heartbeats at most a third of the session timeout apart, as
			// Kafka advises, and a rebalance timeout (how long a rebalance
			// waits for members to rejoin) in the ratio of Kafka's
			// defaults: 45s gives kgo's own 3s and 60s.
			kgo.SessionTimeout(w.cfg.Kafka.SessionTimeout),
			kgo.HeartbeatInterval(min(3*time.Second, w.cfg.Kafka.SessionTimeout/3)),
			kgo.RebalanceTimeout(w.cfg.Kafka.SessionTimeout * 4 / 3)}),
		Topics:          w.cfg.Kafka.Topics,
		RetryTopic:      w.cfg.Kafka.RetryTopic, // parked events come back through the same group
		Group:           w.cfg.Kafka.Group,
		Rules:           w.store,
		Sink:            snk,
		MaxEventBytes:   w.cfg.MaxEventBytes,
		MaxBuffered:     w.cfg.MaxBufferedEvents,
		CommitInterval:  w.cfg.CommitInterval,
		ShutdownTimeout: w.cfg.ShutdownTimeout,
		Logger:          w.log.With("part", "processor"),
		Metrics:         metrics,
		Ready:           rulesReady,
	})
	if err != nil {
		return usageError{err}
	}
	if w.started != nil {
		w.started(proc.Partitions)
	}

	partitions := newEndOffsets(proc.Client, proc.Partitions).partitions
	unregister, err := registerGauges(prov.Meter("hookstream"), gaugeSources{
		partitions: partitions,
		breakers:   snk.BreakerStates,
		oldest:     snk.OldestPending,
		store:      w.store,
		metrics:    metrics,
		topics:     w.cfg.Kafka.Topics,
	})
	if err != nil {
		return fmt.Errorf("create gauges: %w", err)
	}
	defer unregister()

	st := &status{
		started:  time.Now(),
		brokers:  w.cfg.Kafka.Brokers,
		topics:   w.cfg.Kafka.Topics,
		group:    w.cfg.Kafka.Group,
		source:   w.source,
		store:    w.store,
		registry: prov.Registry,
		ready: func() error {
			switch {
			case stopping.Load():
				return errors.New("shutting down")
			case follower != nil && !follower.CaughtUp():
				return errors.New("reading the rules topic " + w.follow.Topic)
			case proc.Client() == nil:
				return errors.New("not consuming yet")
			}
			return nil
		},
		partitions: partitions,
		breakers:   snk.BreakerStates,
		oldest:     snk.OldestPending,
	}
	httpCtx, stopHTTP := context.WithCancel(context.WithoutCancel(ctx))
	httpDone := serveHTTP(httpCtx, w.httpLn, st.handler(), 5*time.Second, w.log)
	w.log.Info("worker started", "version", version, "brokers", w.cfg.Kafka.Brokers,
		"topics", w.cfg.Kafka.Topics, "group", w.cfg.Kafka.Group, "rules", w.source,
		"actions", len(w.store.Load().Actions), "http", w.httpLn.Addr().String())

	// shutdown_timeout is one budget for the whole shutdown, counted from
	// the signal: the processor's flush spends most of it, and closing the
	// sink and producer gets what is left (at least a second to stop).
	var stopAt atomic.Int64
	stopClock := context.AfterFunc(ctx, func() { stopAt.Store(time.Now().UnixNano()) })
	defer stopClock()

	runErr := proc.Run(ctx)
	stopping.Store(true)
	w.log.Info("worker stopping")

	left := w.cfg.ShutdownTimeout
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
	if err := producer.Flush(sctx); err != nil {
		errs = append(errs, fmt.Errorf("flush dead letters: %w", err))
	}
	stopHTTP()
	<-httpDone
	if err := prov.Shutdown(sctx); err != nil {
		errs = append(errs, fmt.Errorf("stop metrics: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	w.log.Info("worker stopped")
	return nil
}

// newLogger returns the process logger, writing to stderr.
func newLogger(cfg config.Log, out io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Level)) // validated: debug, info, warn, error
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "text" {
		return slog.New(slog.NewTextHandler(out, opts))
	}
	return slog.New(slog.NewJSONHandler(out, opts))
}

// kgoLogger passes franz-go's logs to log. franz-go's info logs (every
// step of a rebalance) are logged at debug, its warnings and errors as such;
// the processor logs the rebalances that matter at info itself. franz-go's
// own debug logs (every request) are never passed.
func kgoLogger(log *slog.Logger) kgo.Logger { return slogKgo{log} }

type slogKgo struct{ log *slog.Logger }

func (l slogKgo) Level() kgo.LogLevel {
	ctx := context.Background()
	switch {
	case l.log.Enabled(ctx, slog.LevelDebug):
		return kgo.LogLevelInfo
	case l.log.Enabled(ctx, slog.LevelWarn):
		return kgo.LogLevelWarn
	default:
		return kgo.LogLevelError
	}
}

func (l slogKgo) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	lv := slog.LevelDebug
	switch level {
	case kgo.LogLevelError:
		lv = slog.LevelError
	case kgo.LogLevelWarn:
		lv = slog.LevelWarn
	}
	l.log.Log(context.Background(), lv, msg, keyvals...)
}
