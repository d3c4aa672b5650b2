package worker

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/hookstream/hookstream/internal/config"
	"github.com/hookstream/hookstream/internal/telemetry"
	"github.com/hookstream/hookstream/sink"
	"github.com/twmb/franz-go/pkg/kgo"
)

// telemetryParts are the worker's meter and tracer providers.
type telemetryParts struct {
	prov    *telemetry.Provider
	metrics *telemetry.Metrics
	tracing *telemetry.Tracing
}

func startTelemetry(ctx context.Context, tc telemetry.TracingConfig) (*telemetryParts, error) {
	prov, metrics, err := telemetry.NewPrometheusMetrics()
	if err != nil {
		return nil, err
	}
	tracing, err := telemetry.NewTracing(ctx, tc)
	if err != nil {
		return nil, fmt.Errorf("start tracing: %w", err)
	}
	return &telemetryParts{prov: prov, metrics: metrics, tracing: tracing}, nil
}

// stopTracing runs last, so every span has ended. A collector that cannot
// be reached costs at most five seconds and does not fail the exit.
func (t *telemetryParts) stopTracing(ctx context.Context, log *slog.Logger) {
	tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := t.tracing.Shutdown(tctx); err != nil {
		log.Warn("spans not exported at exit", "err", err)
	}
}

// newSink returns the sink, delivering through the egress policy of
// the delivery settings and telling dead of each dead letter it writes.
func (w *Worker) newSink(producer, large *kgo.Client, tel *telemetryParts, dead *deadLetters) (*sink.Sink, error) {
	s := &w.cfg.Settings
	egress := sink.Egress{
		AllowedHosts:        s.Delivery.AllowedHosts,
		DenyPrivateNetworks: s.Delivery.DenyPrivateNetworks,
	}
	httpClient := sink.EgressClient(egress)
	if w.cfg.WrapHTTP != nil {
		httpClient = w.cfg.WrapHTTP(httpClient)
	}
	return sink.New(sink.Config{
		Producer:   producer,
		Large:      large,
		LargeFrom:  largeFrom,
		DLQTopic:   s.Kafka.DLQTopic,
		RetryTopic: s.Kafka.RetryTopic,
		Group:      s.Kafka.Group, // whose commits on the retry topic tell a parked action it may unpark
		HTTP:       httpClient,
		Egress:     egress, // for actions with their own tls, and token endpoints
		UserAgent:  "hookstream/" + w.cfg.Version,
		Logger:     w.log.With("part", "sink"),
		Metrics:    tel.metrics,
		Tracer:     tel.tracing.Tracer("sink"),
		// max_buffered_events bounds the processor, which holds every
		// record until done. One action may hold a tenth of it (10000 by
		// default): a failing action that fills that parks at once, long
		// before it could use up the budget and stall the others.
		MaxBuffered:  max(1, s.MaxBufferedEvents/10),
		DeadLettered: dead.add, // for the status page
	})
}

// kafkaOpts are the caller's options, a logger naming the client, the
// reconnect options (kafkahealth.go), and then extra.
func (w *Worker) kafkaOpts(client string, extra ...kgo.Opt) []kgo.Opt {
	return slices.Concat(w.cfg.KafkaOpts,
		[]kgo.Opt{kgo.WithLogger(kgoLogger(w.log.With("client", client)))},
		reconnectOpts(w.health), extra)
}

// producerOpts are the options of the producer of dead letters and parked
// events. Its batches keep kgo's default bound (1,000,012 bytes), under
// Kafka's default max.message.bytes, so a burst of small dead letters is
// never refused as one batch too large.
func producerOpts(*config.Config) []kgo.Opt {
	return []kgo.Opt{kgo.ProducerLinger(5 * time.Millisecond)}
}

// Records too large for the producer's batches. hookstream's producers
// must take any record the size of one it consumed (a too_large event's
// dead letter keeps its value), and the consumer reads records up to
// kgo's default BrokerMaxReadBytes, 100 MiB. Such records (over largeFrom
// bytes, leaving room for the batch's own encoding) go through a second
// producer that takes records up to largeMaxBytes, one at a time, so each
// is a batch of its own: only the broker's max.message.bytes refuses one.
const (
	largeFrom     = 1_000_012 - 16<<10
	largeMaxBytes = 100 << 20
)

// largeProducerOpts are the options of the producer of large records.
func largeProducerOpts() []kgo.Opt {
	return []kgo.Opt{
		kgo.ProducerBatchMaxBytes(largeMaxBytes),
		kgo.BrokerMaxWriteBytes(largeMaxBytes + 1<<20),
		kgo.MaxBufferedRecords(1),
	}
}

// consumerOpts are the options of the group member. Heartbeats at most a
// third of the session timeout apart, as Kafka advises, and a rebalance
// timeout (how long a rebalance waits for members to rejoin) in the ratio of
// Kafka's defaults: 45s gives kgo's own 3s and 60s.
func consumerOpts(s *config.Config) []kgo.Opt {
	return []kgo.Opt{
		kgo.SessionTimeout(s.Kafka.SessionTimeout),
		kgo.HeartbeatInterval(min(3*time.Second, s.Kafka.SessionTimeout/3)),
		kgo.RebalanceTimeout(s.Kafka.SessionTimeout * 4 / 3),
	}
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
