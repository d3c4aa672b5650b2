package processor

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/hookstream/hookstream/internal/deadletter"
	"github.com/hookstream/hookstream/internal/kafkatest"
	"github.com/hookstream/hookstream/rules"
	"github.com/twmb/franz-go/pkg/kgo"
)

const retryTopic = "hookstream.retry"

// TestParkedRecordsGoToTheirActionOnly reads the retry topic along with the
// source topic: a parked event goes to the action its header names and no
// other, in that action's current version; one whose action is gone,
// disabled or unnamed is dead-lettered as rejected; and the retry topic is
// committed to its end like the source topic.
func TestParkedRecordsGoToTheirActionOnly(t *testing.T) {
	if !rulesReady() {
		t.Skip("rules cannot decode and compile yet")
	}
	no := false
	set, err := rules.CompileAll([]rules.Action{
		{ID: "a", Trigger: `true`, URL: "http://hooks.test/a/{{ userId }}"},
		{ID: "b", Trigger: `true`, URL: "http://hooks.test/b"},
		{ID: "off", Trigger: `true`, URL: "http://hooks.test/off", Enabled: &no},
	}, rules.Options{})
	if err != nil {
		t.Fatal(err)
	}
	store := &rules.Store{}
	store.Swap(set)

	c := startCluster(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), kafkatest.WaitTimeout)
	defer cancel()
	if _, err := c.adm.CreateTopic(ctx, 2, 1, nil, retryTopic); err != nil {
		t.Fatal(err)
	}
	value := []byte(`{"type":"track","userId":"u1","messageId":"m1"}`)
	parked := func(p int32, action string) *kgo.Record {
		r := &kgo.Record{Topic: retryTopic, Partition: p, Key: []byte(action), Value: value}
		if action != "" {
			r.Headers = []kgo.RecordHeader{{Key: deadletter.HeaderAction, Value: []byte(action)}}
		}
		return r
	}
	cases := []struct {
		name   string
		rec    *kgo.Record
		action string // sent to, or dead-lettered for
		letter bool
	}{
		{"to its action", parked(0, "a"), "a", false},
		{"to its action, not the others it would match", parked(1, "b"), "b", false},
		{"action gone", parked(0, "gone"), "gone", true},
		{"action disabled", parked(1, "off"), "off", true},
		{"no action named", parked(0, ""), "", true},
	}
	// A parked event as the sink writes it: handed over as the source
	// record it carries.
	source := &kgo.Record{Topic: "events", Partition: 3, Offset: 17, Key: []byte("u1"), Value: value, Timestamp: time.UnixMilli(1_700_000_000_000)}
	written := deadletter.Park(retryTopic, "a", source)
	written.Partition = 1
	if err := c.cl.ProduceSync(ctx, written).FirstErr(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		if err := c.cl.ProduceSync(ctx, tc.rec).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	sink := newTestSink(nil)
	startMember(t, c, "g-retry", sink, func(cfg *Config) {
		cfg.Rules = store
		cfg.RetryTopic = retryTopic
	})
	c.produce(t, 1, 1, func(int32, int) []byte { return value })
	// Each parked record once, and the source record to both enabled actions.
	got := sink.waitFor(t, "every record handed over", count(len(cases)+3))

	key := func(r *kgo.Record) string { return fmt.Sprintf("%s/%d@%d", r.Topic, r.Partition, r.Offset) }
	seen := map[string][]handOver{}
	for _, h := range got {
		seen[key(h.rec)] = append(seen[key(h.rec)], h)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hs := seen[key(tc.rec)]
			if len(hs) != 1 {
				t.Fatalf("handed over %d times, want once", len(hs))
			}
			h := hs[0]
			if h.action != tc.action || h.letter != tc.letter || h.parked == tc.letter {
				t.Errorf("handed over for action %q (dead letter %v, parked %v), want %q (dead letter %v)", h.action, h.letter, h.parked, tc.action, tc.letter)
			}
			if tc.letter && h.reason != deadletter.ReasonRejected {
				t.Errorf("dead-letter reason %q, want %q", h.reason, deadletter.ReasonRejected)
			}
		})
	}
	if hs := seen["events/3@17"]; len(hs) != 1 || !hs[0].parked || hs[0].action != "a" ||
		string(hs[0].rec.Key) != "u1" || !hs[0].rec.Timestamp.Equal(source.Timestamp) {
		t.Errorf("parked event handed over as %+v, want its source record once, to a", hs)
	}
	if src := seen[topic+"/0@0"]; len(src) != 2 {
		t.Errorf("source record handed over %d times, want once per enabled action", len(src))
	}

	waitTopicCommitted(t, c, "g-retry", retryTopic, map[int32]int64{0: 3, 1: 3})
}

// waitTopicCommitted polls the group's committed offsets on topic until they
// are want. Offsets live in the broker: polled, not awaited.
func waitTopicCommitted(t *testing.T, c *cluster, group, topic string, want map[int32]int64) {
	t.Helper()
	kafkatest.Wait(t, fmt.Sprintf("%s committed at %v", topic, want),
		func() map[int32]int64 { return c.kit.Committed(t, group, topic) },
		func(got map[int32]int64) bool { return maps.Equal(got, want) })
}
