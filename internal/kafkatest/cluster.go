package kafkatest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Cluster is an in-process kfake cluster of one broker with a client and an
// admin client on it, all closed when the test ends.
type Cluster struct {
	Fake *kfake.Cluster // for fault injection (ControlKey) and restarts
	Addr string

	// Client produces each record to the partition it names (a manual
	// partitioner: the zero Partition is 0).
	Client *kgo.Client
	Admin  *kadm.Client

	clientOpts []kgo.Opt // what every client of this cluster needs (TLS, SASL)
}

// Config is a cluster's broker options and the options its clients need to
// reach it (TLS, SASL). Clients always get FastOpts as well.
type Config struct {
	Broker []kfake.Opt
	Client []kgo.Opt
	// Network, when set, is where the broker listens and its clients dial:
	// for a test under testing/synctest. Nil: loopback TCP.
	Network *Network
}

// NewCluster starts a cluster with the given kfake options (topics, TLS,
// group timeouts) in addition to one broker.
func NewCluster(t testing.TB, opts ...kfake.Opt) *Cluster {
	t.Helper()
	return Start(t, Config{Broker: opts})
}

// Start starts a cluster as cfg says.
func Start(t testing.TB, cfg Config) *Cluster {
	t.Helper()
	opts := []kfake.Opt{kfake.NumBrokers(1)}
	if cfg.Network != nil {
		opts = append(opts, kfake.ListenFn(cfg.Network.Listen))
		cfg.Client = append([]kgo.Opt{kgo.Dialer(cfg.Network.Dial)}, cfg.Client...)
	}
	fake, err := kfake.NewCluster(append(opts, cfg.Broker...)...)
	if err != nil {
		t.Fatalf("start kfake: %v", err)
	}
	t.Cleanup(fake.Close)
	c := &Cluster{Fake: fake, Addr: fake.ListenAddrs()[0], clientOpts: cfg.Client}
	c.Client = c.NewClient(t, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	c.Admin = kadm.NewClient(c.Client)
	return c
}

// FastOpts seed a client with addrs and make it recover from broker errors
// and notice metadata changes in tens of milliseconds, not seconds.
func FastOpts(addrs ...string) []kgo.Opt {
	return []kgo.Opt{
		kgo.SeedBrokers(addrs...),
		kgo.RetryBackoffFn(func(int) time.Duration { return 20 * time.Millisecond }),
		kgo.MetadataMinAge(50 * time.Millisecond),
	}
}

// Opts returns the options of a client of c: FastOpts, the cluster's own
// (TLS, SASL), then extra.
func (c *Cluster) Opts(extra ...kgo.Opt) []kgo.Opt {
	opts := append(FastOpts(c.Addr), c.clientOpts...)
	return append(opts, extra...)
}

// NewClient returns a client of c with extra options, closed when the test
// ends.
func (c *Cluster) NewClient(t testing.TB, extra ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(c.Opts(extra...)...)
	if err != nil {
		t.Fatalf("new client: %v", err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// Produce writes recs synchronously, each to the partition it names, and
// returns them with their offsets.
func (c *Cluster) Produce(t testing.TB, recs ...*kgo.Record) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), WaitTimeout)
	defer cancel()
	if err := c.Client.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	return recs
}

// Read returns the first n records of topic, read from its start by a fresh
// client with extra options. Fewer than n within WaitTimeout fails the test.
func (c *Cluster) Read(t testing.TB, topic string, n int, extra ...kgo.Opt) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(c.Opts(append([]kgo.Opt{kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}, extra...)...)...)
	if err != nil {
		t.Fatalf("new client: %v", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), WaitTimeout)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %s: got %d records, want %d", topic, len(out), n)
		}
		fs.EachRecord(func(r *kgo.Record) { out = append(out, r) })
	}
	return out
}

// Committed returns group's committed offset per partition of topic; a group
// the broker does not know has committed nothing.
func (c *Cluster) Committed(t testing.TB, group, topic string) map[int32]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := c.Admin.FetchOffsets(ctx, group)
	if errors.Is(err, kerr.GroupIDNotFound) {
		return map[int32]int64{}
	}
	if err != nil {
		t.Fatalf("fetch offsets of %s: %v", group, err)
	}
	out := map[int32]int64{}
	for p, o := range resp[topic] {
		if o.Err == nil {
			out[p] = o.At
		}
	}
	return out
}

// EndOffsets returns the end offset of every partition of topic.
func (c *Cluster) EndOffsets(t testing.TB, topic string) map[int32]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ends, err := c.Admin.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatalf("end offsets of %s: %v", topic, err)
	}
	out := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
	return out
}
