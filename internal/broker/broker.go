package broker

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
)

// Config says where the broker listens and which topics it holds.
type Config struct {
	// Listen is the TCP address, "host:port". Port 0 picks a free port; an
	// empty Listen means "127.0.0.1:0". The host is also the address the
	// broker advertises to clients, so it should be one they can dial.
	Listen string

	// Topics maps topic names to partition counts, created if missing.
	// A count below 1 means 1.
	Topics map[string]int32

	// Compacted names topics (in Topics or not) created with
	// cleanup.policy=compact, such as the rules topic. A compacted topic
	// missing from Topics gets one partition.
	Compacted []string

	// DataDir, when set, keeps records and committed offsets on disk
	// across restarts. Empty means in memory only.
	DataDir string
}

// Broker is a running embedded broker.
type Broker struct {
	cluster *kfake.Cluster
}

// Start listens on cfg.Listen and creates the configured topics. The caller
// must Close the broker.
func Start(cfg Config) (*Broker, error) {
	listen := cfg.Listen
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	if _, _, err := net.SplitHostPort(listen); err != nil {
		return nil, fmt.Errorf("start broker: listen address %q: %w", listen, err)
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		// kfake always asks for 127.0.0.1:<port>; listen where we were told instead.
		kfake.ListenFn(func(network, _ string) (net.Listener, error) {
			return net.Listen(network, listen)
		}),
	}
	if cfg.DataDir != "" {
		opts = append(opts, kfake.DataDir(cfg.DataDir))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("start broker on %s: %w", listen, err)
	}
	b := &Broker{cluster: c}
	if err := b.createTopics(cfg); err != nil {
		c.Close()
		return nil, err
	}
	return b, nil
}

func (b *Broker) createTopics(cfg Config) error {
	compacted := make(map[string]bool, len(cfg.Compacted))
	for _, t := range cfg.Compacted {
		compacted[t] = true
	}
	topics := maps.Clone(cfg.Topics)
	if topics == nil {
		topics = make(map[string]int32)
	}
	for t := range compacted {
		if _, ok := topics[t]; !ok {
			topics[t] = 1
		}
	}
	var errs []error
	for _, t := range slices.Sorted(maps.Keys(topics)) {
		parts := max(topics[t], 1)
		var configs map[string]string
		if compacted[t] {
			configs = map[string]string{"cleanup.policy": "compact"}
		}
		err := b.cluster.CreateTopic(t, parts, configs)
		if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			errs = append(errs, fmt.Errorf("create topic %s with %d partitions: %w", t, parts, err))
		}
	}
	return errors.Join(errs...)
}

// Addrs returns the addresses clients use as seed brokers.
func (b *Broker) Addrs() []string { return b.cluster.ListenAddrs() }

// Cluster returns the underlying kfake cluster, for tests that inject faults.
func (b *Broker) Cluster() *kfake.Cluster { return b.cluster }

// Close stops the broker; with a DataDir it first writes its state to disk.
func (b *Broker) Close() { b.cluster.Close() }
