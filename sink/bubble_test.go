package sink

import (
	"testing"

	"github.com/hookstream/hookstream/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kfake"
)

// bubble is a test's surroundings for testing/synctest: a cluster and
// receivers on an in-memory network, so that every goroutine of the test
// runs on the bubble's fake clock. Create it inside synctest.Test.
type bubble struct {
	net *kafkatest.Network
	cl  *cluster
}

func newBubble(t *testing.T, opts ...kfake.Opt) *bubble {
	t.Helper()
	n := kafkatest.NewNetwork()
	return &bubble{net: n, cl: newClusterOn(t, n, opts...)}
}

// receiver starts a receiver on the bubble's network.
func (b *bubble) receiver(t *testing.T, respond func(s seen) answer) *receiver {
	t.Helper()
	return newReceiverOn(t, b.net, respond)
}

// sink starts a Sink that writes to the bubble's cluster and sends through
// its network.
func (b *bubble) sink(t *testing.T, cfg Config) *Sink {
	t.Helper()
	if cfg.Producer == nil {
		cfg.Producer = b.cl.producer
	}
	if cfg.HTTP == nil {
		cfg.HTTP = b.net.HTTPClient(t)
	}
	return newSink(t, cfg)
}
