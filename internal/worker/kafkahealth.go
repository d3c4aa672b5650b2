package worker

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Reconnecting. franz-go backs off between failed attempts (a dial, a
// fetch, a heartbeat, a metadata request) exponentially up to 5s by
// default, so after a broker outage of a few seconds the clients would try
// again only up to 5s after the brokers are back. The worker's clients
// back off at most maxBackoff instead (as Kafka's Java client, whose
// reconnect backoff stops at 1s), and may refresh metadata as soon as
// metadataMinAge after an error, so deliveries resume within a second of
// the brokers' return: each step of getting back (metadata, rejoining the
// group, fetching) waits at most that long. While the brokers are down that
// is about five attempts per second per client and broker: cheap.
const (
	minBackoff     = 50 * time.Millisecond
	maxBackoff     = 200 * time.Millisecond
	metadataMinAge = 100 * time.Millisecond
)

// backoff is the wait before retry number fails: doubling from minBackoff,
// at most maxBackoff, with jitter (75–100% of that) so that many workers
// do not retry in step.
func backoff(fails int) time.Duration {
	d := maxBackoff
	if fails < 5 {
		d = min(maxBackoff, minBackoff<<max(0, fails-1))
	}
	return d - time.Duration(rand.Int64N(int64(d/4)+1))
}

// reconnectOpts are the options every client of the worker shares for
// riding through broker outages, with health watching them.
func reconnectOpts(health *kafkaHealth) []kgo.Opt {
	return []kgo.Opt{
		kgo.RetryBackoffFn(backoff),
		kgo.MetadataMinAge(metadataMinAge),
		kgo.WithHooks(health),
	}
}

// kafkaHealth watches every connection attempt and request of the worker's
// clients, to tell /readyz whether the brokers answer. Any answer from any
// broker counts as reachable; the worker is waiting for Kafka when the last
// thing that happened was a failure and no broker has answered for grace.
// (With several brokers, one being down does not make the worker unready:
// the others answer.)
type kafkaHealth struct {
	grace time.Duration
	now   func() time.Time

	answered atomic.Int64 // unix nanoseconds of the last answer; 0: none yet

	mu      sync.Mutex
	failed  int64 // unix nanoseconds of the last failure
	since   int64 // of the first failure after the last answer
	lastErr string
}

func newKafkaHealth() *kafkaHealth {
	return &kafkaHealth{grace: time.Second, now: time.Now}
}

var (
	_ kgo.HookBrokerConnect = (*kafkaHealth)(nil)
	_ kgo.HookBrokerE2E     = (*kafkaHealth)(nil)
)

// OnBrokerConnect notes a failed dial (or TLS or SASL handshake).
func (h *kafkaHealth) OnBrokerConnect(_ kgo.BrokerMetadata, _ time.Duration, _ net.Conn, err error) {
	if err != nil {
		h.fail(err)
	}
}

// OnBrokerE2E notes an answer, or a request that failed on the wire.
func (h *kafkaHealth) OnBrokerE2E(_ kgo.BrokerMetadata, _ int16, e2e kgo.BrokerE2E) {
	if err := e2e.Err(); err != nil {
		h.fail(err)
		return
	}
	h.answered.Store(h.now().UnixNano())
}

func (h *kafkaHealth) fail(err error) {
	if errors.Is(err, context.Canceled) || errors.Is(err, kgo.ErrClientClosed) {
		return // our own doing, not the brokers'
	}
	now := h.now().UnixNano()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.since <= h.answered.Load() {
		h.since = now
	}
	h.failed, h.lastErr = now, err.Error()
}

// waiting returns why the worker is waiting for Kafka, or nil when it is
// not.
func (h *kafkaHealth) waiting() error {
	answered := h.answered.Load()
	now := h.now()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failed == 0 || h.failed <= answered || now.Sub(time.Unix(0, answered)) < h.grace {
		return nil
	}
	return fmt.Errorf("waiting for Kafka: no broker has answered since %s (%s)",
		time.Unix(0, h.since).UTC().Format(time.RFC3339), h.lastErr)
}
