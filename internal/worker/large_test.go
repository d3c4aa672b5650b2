package worker

import (
	"bytes"
	"context"
	"crypto/rand"
	"net"
	"strconv"
	"testing"

	"github.com/hookstream/hookstream/internal/config"
	"github.com/hookstream/hookstream/internal/deadletter"
	"github.com/hookstream/hookstream/internal/kafkatest"
	"github.com/hookstream/hookstream/rules"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// startWorker runs a worker on c (topic events, group g) with one action
// and settings changed by edit, until the test ends.
func startWorker(t *testing.T, c *kafkatest.Cluster, edit func(*config.Config)) {
	t.Helper()
	s := config.Default()
	s.Kafka.Brokers = []string{c.Addr}
	s.Kafka.Topics = []string{"events"}
	s.Kafka.Group = "g"
	edit(&s)
	set, err := rules.LoadYAML([]byte("actions:\n- id: a\n  trigger: event == \"x\"\n  url: http://127.0.0.1:1/\n"), "rules.yaml", rules.Options{})
	if err != nil {
		t.Fatal(err)
	}
	store := &rules.Store{}
	store.Swap(set)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w, err := New(Config{Settings: s, KafkaOpts: kafkatest.FastOpts(c.Addr), Rules: store, HTTP: ln})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker: %v", err)
		}
	})
}

// createTopics creates events and the dead-letter topic with the given
// max.message.bytes.
func createTopics(t *testing.T, c *kafkatest.Cluster, events, dlq int) {
	t.Helper()
	for topic, limit := range map[string]int{"events": events, "hookstream.dlq": dlq, "hookstream.retry": dlq} {
		v := strconv.Itoa(limit)
		resp, err := c.Admin.CreateTopic(context.Background(), 1, 1, map[string]*string{"max.message.bytes": &v}, topic)
		if err == nil {
			err = resp.Err
		}
		if err != nil {
			t.Fatalf("create %s: %v", topic, err)
		}
	}
}

// TestTooLargeEventKeepsItsValue: an event larger than max_event_bytes on a
// topic that allows it is dead-lettered as too_large with its value byte for
// byte; only a dead-letter topic that refuses the size drops the value.
func TestTooLargeEventKeepsItsValue(t *testing.T) {
	const size = 2 << 20
	tests := []struct {
		name     string
		dlqLimit int
		dropped  bool
	}{
		{"dead-letter topic takes it", 4 << 20, false},
		{"dead-letter topic refuses it", 1 << 20, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := kafkatest.NewCluster(t, kfake.BrokerConfigs(map[string]string{"message.max.bytes": strconv.Itoa(8 << 20)}))
			createTopics(t, c, 4<<20, tt.dlqLimit)
			value := make([]byte, size)
			rand.Read(value)
			big, err := kgo.NewClient(append(kafkatest.FastOpts(c.Addr), kgo.ProducerBatchMaxBytes(4<<20))...)
			if err != nil {
				t.Fatal(err)
			}
			defer big.Close()
			if err := big.ProduceSync(context.Background(), &kgo.Record{Topic: "events", Key: []byte("k"), Value: value}).FirstErr(); err != nil {
				t.Fatal(err)
			}
			startWorker(t, c, func(s *config.Config) { s.MaxEventBytes = 1 << 20 })

			dl := c.Read(t, "hookstream.dlq", 1, kgo.FetchMaxBytes(16<<20))[0]
			if got := header(dl, deadletter.HeaderReason); got != "too_large" {
				t.Errorf("reason %q, want too_large", got)
			}
			dropped := header(dl, deadletter.HeaderValueDropped)
			switch {
			case tt.dropped && (dl.Value != nil || dropped != "true" || header(dl, deadletter.HeaderValueSize) != strconv.Itoa(size)):
				t.Errorf("value of %d bytes with %s %q and %s %q, want none, true and %d", len(dl.Value),
					deadletter.HeaderValueDropped, dropped, deadletter.HeaderValueSize, header(dl, deadletter.HeaderValueSize), size)
			case !tt.dropped && (!bytes.Equal(dl.Value, value) || dropped != ""):
				t.Errorf("value of %d bytes (same: %v) with %s %q, want the %d bytes unchanged",
					len(dl.Value), bytes.Equal(dl.Value, value), deadletter.HeaderValueDropped, dropped, size)
			}
			if string(dl.Key) != "k" {
				t.Errorf("key %q, want k", dl.Key)
			}
		})
	}
}

func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}
