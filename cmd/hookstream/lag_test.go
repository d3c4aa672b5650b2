package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookstream/hookstream/internal/kafkatest"
	"github.com/hookstream/hookstream/internal/lag"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// lagFixture is a cluster where group g is behind: events/0 is stuck at an
// event of action b written ten minutes ago, events/1 is caught up, events/2
// is empty and never committed, and the retry topic holds a's parked events
// from an hour ago and b's from five minutes ago.
func lagFixture(t *testing.T) (addr, rulesFile string) {
	t.Helper()
	c := kafkatest.NewCluster(t, kfake.SeedTopics(3, "events"), kfake.SeedTopics(1, "hookstream.retry"))
	now := time.Now()
	ev := func(p int32, name string, ago time.Duration) *kgo.Record {
		return &kgo.Record{Topic: "events", Partition: p, Timestamp: now.Add(-ago),
			Value: fmt.Appendf(nil, `{"type":"track","event":%q,"messageId":"m"}`, name)}
	}
	parked := func(action string, ago time.Duration) *kgo.Record {
		src := now.Add(-ago)
		return &kgo.Record{Topic: "hookstream.retry", Partition: 0, Key: []byte(action), Timestamp: now,
			Value: []byte(`{"type":"track"}`), Headers: []kgo.RecordHeader{
				{Key: "hookstream-action", Value: []byte(action)},
				{Key: "hookstream-source-timestamp", Value: fmt.Appendf(nil, "%d", src.UnixMilli())},
			}}
	}
	recs := []*kgo.Record{
		ev(0, "A", 20*time.Minute), ev(0, "A", 15*time.Minute), ev(0, "B", 10*time.Minute), ev(0, "A", 9*time.Minute), ev(0, "X", 8*time.Minute),
		ev(1, "A", time.Minute), ev(1, "B", time.Minute),
		parked("a", time.Hour), parked("b", 5*time.Minute), parked("a", 30*time.Minute),
	}
	c.Produce(t, recs...)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var o kadm.Offsets
	o.AddOffset("events", 0, 2, -1)
	o.AddOffset("events", 1, 2, -1)
	o.AddOffset("hookstream.retry", 0, 0, -1)
	if _, err := c.Admin.CommitOffsets(ctx, "g", o); err != nil {
		t.Fatal(err)
	}
	rulesFile = filepath.Join(t.TempDir(), "rules.yaml")
	err := os.WriteFile(rulesFile, []byte(`actions:
- id: a
  trigger: event == "A"
  url: http://hooks.test/a
- id: b
  trigger: event == "B"
  url: http://hooks.test/b
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	return c.Addr, rulesFile
}

// runCLI runs one command line in process and returns its output and exit
// status.
func runCLI(args ...string) (stdout, stderr string, code int) {
	var out, errOut bytes.Buffer
	c := &cli{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut,
		lookupEnv: func(string) (string, bool) { return "", false }}
	code = c.main(context.Background(), args)
	return out.String(), errOut.String(), code
}

func TestLagReportsPartitionsAndOldestPerAction(t *testing.T) {
	addr, rulesFile := lagFixture(t)
	out, errOut, code := runCLI("lag", "--brokers", addr, "--group", "g", "--rules", rulesFile, "--output", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep lag.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("output is not the JSON report: %v\n%s", err, out)
	}
	wantParts := []struct {
		topic          string
		p              int32
		committed, end int64
		lag            int64
		oldest         time.Duration // 0: none
	}{
		{"events", 0, 2, 5, 3, 10 * time.Minute},
		{"events", 1, 2, 2, 0, 0},
		{"events", 2, -1, 0, 0, 0},
		{"hookstream.retry", 0, 0, 3, 3, time.Hour},
	}
	if len(rep.Partitions) != len(wantParts) {
		t.Fatalf("%d partitions, want %d: %+v", len(rep.Partitions), len(wantParts), rep.Partitions)
	}
	near := func(sec float64, d time.Duration) bool { return sec >= d.Seconds() && sec < d.Seconds()+30 }
	for i, w := range wantParts {
		g := rep.Partitions[i]
		if g.Topic != w.topic || g.Partition != w.p || g.Committed != w.committed || g.End != w.end || g.Lag != w.lag {
			t.Errorf("row %d: %+v, want %s/%d committed %d end %d lag %d", i, g, w.topic, w.p, w.committed, w.end, w.lag)
		}
		switch {
		case w.oldest == 0 && g.OldestAgeSeconds != nil:
			t.Errorf("%s/%d: oldest %vs, want none", w.topic, w.p, *g.OldestAgeSeconds)
		case w.oldest != 0 && (g.OldestAgeSeconds == nil || !near(*g.OldestAgeSeconds, w.oldest)):
			t.Errorf("%s/%d: oldest %v, want about %v", w.topic, w.p, g.OldestAgeSeconds, w.oldest)
		}
	}
	wantActions := []struct {
		id     string
		oldest time.Duration
		parked bool
		where  string
	}{
		{"a", time.Hour, true, "hookstream.retry/0@0"},
		{"b", 10 * time.Minute, false, "events/0@2"}, // older than its parked event
	}
	if len(rep.Actions) != len(wantActions) {
		t.Fatalf("actions %+v, want %d", rep.Actions, len(wantActions))
	}
	for i, w := range wantActions {
		g := rep.Actions[i]
		where := fmt.Sprintf("%s/%d@%d", g.Topic, g.Partition, g.Offset)
		if g.Action != w.id || g.Parked != w.parked || where != w.where || !near(g.OldestAgeSeconds, w.oldest) {
			t.Errorf("action %d: %+v at %s, want %s about %v old at %s (parked %v)", i, g, where, w.id, w.oldest, w.where, w.parked)
		}
	}

	text, _, code := runCLI("lag", "--brokers", addr, "--group", "g", "--rules", rulesFile)
	for _, want := range []string{"TOPIC", "hookstream.retry", "ACTION", "(parked)", "events/0@2"} {
		if code != 0 || !strings.Contains(text, want) {
			t.Errorf("text output (exit %d) lacks %q:\n%s", code, want, text)
		}
	}
}

func TestLagUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"bad output", []string{"lag", "--output", "xml"}, "want text or json"},
		{"bad scan", []string{"lag", "--scan", "0"}, "want at least 1"},
		{"stray argument", []string{"lag", "extra"}, "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, code := runCLI(tt.args...)
			if code != 2 || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, errOut, tt.want)
			}
		})
	}
}
