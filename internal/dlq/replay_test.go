package dlq

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookstream/hookstream/internal/deadletter"
	"github.com/hookstream/hookstream/internal/kafkatest"
	"github.com/hookstream/hookstream/rules"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestPlan(t *testing.T) {
	actions := Actions{"crm": Enabled, "paused": Disabled, "broken": Invalid}
	for _, tc := range []struct {
		name string
		l    Letter
		want Skip
	}{
		{"enabled action", Letter{Action: "crm", Reason: deadletter.ReasonRejected}, ""},
		{"poison", Letter{Reason: deadletter.ReasonDecode}, SkipNoAction},
		{"deleted action", Letter{Action: "gone", Reason: deadletter.ReasonRejected}, SkipDeleted},
		{"disabled action", Letter{Action: "paused", Reason: deadletter.ReasonRetriesExhausted}, SkipDisabled},
		{"invalid action", Letter{Action: "broken", Reason: deadletter.ReasonMapping}, SkipInvalid},
		{"value dropped", Letter{Action: "crm", Reason: deadletter.ReasonRejected, ValueDropped: true}, SkipValueDropped},
	} {
		if got := Plan(tc.l, actions).Skip; got != tc.want {
			t.Errorf("%s: skip %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestActionsFromTopicAndFile(t *testing.T) {
	no := false
	topic := TopicActions(map[string][]byte{
		"crm":    []byte(`{"id":"crm","trigger":"true","url":"https://crm.example.com/"}`),
		"paused": []byte(`{"id":"paused","trigger":"true","url":"https://x.example.com/","enabled":false}`),
		"broken": []byte(`{"id":"broken","trigger":"true","url":"https://x.example.com/","bogus":1}`),
		"other":  []byte(`{"id":"not-other","trigger":"true","url":"https://x.example.com/"}`),
	})
	want := Actions{"crm": Enabled, "paused": Disabled, "broken": Invalid, "other": Invalid}
	for id, s := range want {
		if topic[id] != s {
			t.Errorf("topic action %s: state %d, want %d", id, topic[id], s)
		}
	}
	file := FileActions([]rules.Action{{ID: "crm"}, {ID: "paused", Enabled: &no}})
	if file["crm"] != Enabled || file["paused"] != Disabled || file["gone"] != Missing {
		t.Errorf("file actions = %v", file)
	}
}

func TestSummarize(t *testing.T) {
	plan := []Planned{{Skip: ""}, {Skip: ""}, {Skip: SkipNoAction}, {Skip: SkipDeleted}, {Skip: SkipDeleted}}
	for _, replayed := range []bool{false, true} {
		var s Summary
		for _, p := range plan {
			s.Add(p, replayed && p.Skip == "")
		}
		wantReplayed := 0
		if replayed {
			wantReplayed = 2
		}
		if s.Selected != 5 || s.Replayed != wantReplayed || s.Skipped[SkipNoAction] != 1 || s.Skipped[SkipDeleted] != 2 {
			t.Errorf("replayed %v: summary %+v", replayed, s)
		}
	}
}

// Replay writes each replayable dead letter to the retry topic as an event
// parked by its action: the source record's value (so its messageId), key,
// headers and coordinates, in the dead letters' order.
func TestReplayWritesParkedEvents(t *testing.T) {
	c := startKafka(t, 2)
	spread(t, c, 9, 2) // crm 0,3,6; billing 1,4,7; poison 2,5,8
	// Planned and written as read, as `dlq replay` does.
	var plan []Planned
	var sum Summary
	rp := NewReplayer(c.Opts(), retryTopic)
	err := Read(t.Context(), c.Opts(), dlqTopic, Filter{}, true, func(l Letter) error {
		p := Plan(l, Actions{"crm": Enabled}) // billing deleted
		plan = append(plan, p)
		written, err := rp.Write(t.Context(), p)
		sum.Add(p, written)
		return err
	})
	if err == nil {
		err = rp.Close(t.Context())
	}
	if err != nil {
		t.Fatal(err)
	}
	got := c.Read(t, retryTopic, 3)
	var gotIDs []string
	for i, rec := range got {
		d := deadletter.Decode(rec)
		want := plan[3*i].source // crm's letters are every third, from the first
		if !d.Parked || d.Action != "crm" || string(rec.Key) != "crm" {
			t.Errorf("record %d: parked %v, action %q, key %q; want an event parked by crm", i, d.Parked, d.Action, rec.Key)
		}
		if string(d.Source.Value) != string(want.Value) || string(d.Source.Key) != string(want.Key) ||
			d.Source.Topic != "events" || d.Source.Partition != want.Partition || d.Source.Offset != want.Offset ||
			len(d.Source.Headers) != 1 || d.Source.Headers[0].Key != "traceparent" || string(d.Source.Headers[0].Value) != string(want.Headers[0].Value) {
			t.Errorf("record %d: source %+v, want %+v", i, d.Source, want)
		}
		gotIDs = append(gotIDs, messageID(d.Source.Value))
	}
	if !slices.Equal(gotIDs, []string{"m-0", "m-3", "m-6"}) {
		t.Errorf("replayed %v, want m-0 m-3 m-6 in order", gotIDs)
	}
	if s := sum; s.Replayed != 3 || s.Skipped[SkipDeleted] != 3 || s.Skipped[SkipNoAction] != 3 {
		t.Errorf("summary %+v, want 3 replayed, 3 deleted, 3 poison", s)
	}
}

func TestReplayNeedsKeptRecords(t *testing.T) {
	c := startKafka(t, 1)
	rp := NewReplayer(c.Opts(), retryTopic)
	defer rp.Close(t.Context())
	if _, err := rp.Write(t.Context(), Planned{Letter: Letter{Action: "crm"}}); err == nil {
		t.Fatal("replayed a letter read without its record")
	}
}

// A letter larger than the producer's batches so far is written by a new
// client made for its size, after the writes before it are acknowledged:
// every value byte for byte, in the letters' order.
func TestReplayTakesLargeLetters(t *testing.T) {
	c := kafkatest.NewCluster(t)
	limit := strconv.Itoa(4 << 20)
	for _, topic := range []string{dlqTopic, retryTopic} {
		resp, err := c.Admin.CreateTopic(t.Context(), 1, 1, map[string]*string{"max.message.bytes": &limit}, topic)
		if err == nil {
			err = resp.Err
		}
		if err != nil {
			t.Fatalf("create %s: %v", topic, err)
		}
	}
	big := letterRecord(1, "crm", deadletter.ReasonRejected, 400, 0, t0.Add(time.Second))
	big.Value = fmt.Appendf(nil, `{"messageId":"m-1","pad":"%s"}`, strings.Repeat("x", 2<<20))
	recs := []*kgo.Record{letterRecord(0, "crm", deadletter.ReasonRejected, 400, 0, t0), big,
		letterRecord(2, "crm", deadletter.ReasonRejected, 400, 0, t0.Add(2*time.Second))}
	cl := c.NewClient(t, kgo.ProducerBatchMaxBytes(4<<20))
	for _, rec := range recs {
		if err := cl.ProduceSync(t.Context(), rec).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}

	rp := NewReplayer(c.Opts(), retryTopic)
	err := Read(t.Context(), c.Opts(), dlqTopic, Filter{}, true, func(l Letter) error {
		_, err := rp.Write(t.Context(), Plan(l, Actions{"crm": Enabled}))
		return err
	})
	if err == nil {
		err = rp.Close(t.Context())
	}
	if err != nil {
		t.Fatal(err)
	}
	got := c.Read(t, retryTopic, 3)
	for i, rec := range got {
		if !bytes.Equal(rec.Value, recs[i].Value) {
			t.Errorf("retry record %d: value of %d bytes (%.40q), want letter %d's %d bytes", i, len(rec.Value), rec.Value, i, len(recs[i].Value))
		}
	}
}
