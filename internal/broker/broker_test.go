package broker

import (
	"context"
	"testing"
	"time"

	"github.com/hookstream/hookstream/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func start(t *testing.T, cfg Config) *Broker {
	t.Helper()
	b, err := Start(cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(b.Close)
	return b
}

func client(t *testing.T, b *Broker, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append(kafkatest.FastOpts(b.Addrs()...), opts...)...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func TestStartCreatesTopics(t *testing.T) {
	b := start(t, Config{
		Topics:    map[string]int32{"events": 4, "hookstream.dlq": 0},
		Compacted: []string{"hookstream.rules"},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	adm := kadm.NewClient(client(t, b))
	details, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatalf("ListTopics: %v", err)
	}
	want := map[string]int{"events": 4, "hookstream.dlq": 1, "hookstream.rules": 1}
	for topic, parts := range want {
		d, ok := details[topic]
		if !ok {
			t.Errorf("topic %s missing; have %v", topic, details.Names())
			continue
		}
		if got := len(d.Partitions); got != parts {
			t.Errorf("topic %s: %d partitions, want %d", topic, got, parts)
		}
	}
	cfgs, err := adm.DescribeTopicConfigs(ctx, "hookstream.rules")
	if err != nil {
		t.Fatalf("DescribeTopicConfigs: %v", err)
	}
	rc, err := cfgs.On("hookstream.rules", nil)
	if err != nil {
		t.Fatalf("configs of hookstream.rules: %v", err)
	}
	var policy string
	for _, c := range rc.Configs {
		if c.Key == "cleanup.policy" {
			policy = c.MaybeValue()
		}
	}
	if policy != "compact" {
		t.Errorf("hookstream.rules cleanup.policy = %q, want compact", policy)
	}
}

func TestDataDirKeepsRecords(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	b, err := Start(Config{Topics: map[string]int32{"events": 1}, DataDir: dir})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	cl := client(t, b)
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "events", Value: []byte(`{"type":"track"}`)}).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	cl.Close()
	b.Close()

	// A restarted broker keeps the record and gains a newly configured topic.
	b2 := start(t, Config{Topics: map[string]int32{"events": 1, "more": 2}, DataDir: dir})
	consumer := client(t, b2, kgo.ConsumeTopics("events"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	var got []string
	for len(got) == 0 {
		fetches := consumer.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("no record after restart: %v", err)
		}
		fetches.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	if got[0] != `{"type":"track"}` {
		t.Errorf("record after restart = %q", got[0])
	}
	details, err := kadm.NewClient(consumer).ListTopics(ctx, "more")
	if err != nil {
		t.Fatalf("ListTopics: %v", err)
	}
	if d := details["more"]; d.Err != nil || len(d.Partitions) != 2 {
		t.Errorf("topic more after restart: err %v, %d partitions, want 2", d.Err, len(d.Partitions))
	}
}

func TestStartRejectsBadListen(t *testing.T) {
	tests := []struct {
		name   string
		listen string
	}{
		{"no port", "127.0.0.1"},
		{"bad port", "127.0.0.1:notaport"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Start(Config{Listen: tt.listen})
			if err == nil {
				b.Close()
				t.Fatalf("Start(%q) succeeded, want an error", tt.listen)
			}
		})
	}
}

func TestStartOnBusyPort(t *testing.T) {
	first := start(t, Config{})
	if _, err := Start(Config{Listen: first.Addrs()[0]}); err == nil {
		t.Fatalf("second broker on %s started, want an address-in-use error", first.Addrs()[0])
	}
}
