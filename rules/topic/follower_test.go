package topic

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hookstream/hookstream/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestFollowerCatchesUpThenFollows reads a topic with history to its end,
// then follows changes with two followers, as two workers would.
func TestFollowerCatchesUpThenFollows(t *testing.T) {
	tc := newCluster(t)
	tc.createTopic(t, "rules", 2, "compact")
	tc.put(t, "rules",
		"a", actionJSON("a", "v1"),
		"b", actionJSON("b", "v1"),
		"a", actionJSON("a", "v2"),
		"b", nil,
		"c", `{"id":"c","trigger":"type ==","url":"https://h.example.com/c"}`, // never valid
		"d", actionJSON("d", "v1"),
		"d", `{"id":"d","trigger":"true","url":"https://h.example.com/d","colour":"red"}`, // invalid later version
		"e", `{"id":"e","trigger":"true","url":"https://h.example.com/e","headers":{"Authorization":"Bearer ${env:MISSING}"}}`,
		"x", actionJSON("x", "v1"),
		"x", `{"id":"x","trigger":"true"}`, // invalid, then replaced: not reported
		"x", actionJSON("x", "v2"),
		"k", `{"id":"k","trigger":"true","url":"https://h.example.com/k","headers":{"Authorization":"Bearer ${env:TOKEN}"}}`,
	)
	env := map[string]string{"TOKEN": "s3cret"}
	m1, rejected1 := metricsReader(t)
	m2, rejected2 := metricsReader(t)
	f1, s1 := follow(t, tc, "rules", m1, env)
	f2, s2 := follow(t, tc, "rules", m2, env)
	ready(t, f1)
	ready(t, f2)

	// Ready means the whole topic is installed: no waiting here.
	for _, st := range []struct {
		name     string
		f        *Follower
		store    func(string) string
		rejected func() int64
	}{
		{"worker 1", f1, func(id string) string { return urlOf(s1, id) }, rejected1},
		{"worker 2", f2, func(id string) string { return urlOf(s2, id) }, rejected2},
	} {
		want := map[string]string{
			"a": "https://hooks.example.com/a/v2",
			"b": "",
			"c": "",
			"d": "https://hooks.example.com/d/v1", // the previous version keeps running
			"e": "",
			"x": "https://hooks.example.com/x/v2",
			"k": "https://h.example.com/k",
		}
		for id, url := range want {
			if got := st.store(id); got != url {
				t.Errorf("%s: action %s has URL %q, want %q", st.name, id, got, url)
			}
		}
		if n := st.rejected(); n != 3 {
			t.Errorf("%s: hookstream_rules_rejected_total = %d, want 3 (c, d, e; not x, replaced)", st.name, n)
		}
		if !st.f.CaughtUp() {
			t.Errorf("%s: CaughtUp false after Ready", st.name)
		}
	}
	if got := s1.Load().Get("k").Header; len(got) != 1 || got[0][1] != "Bearer s3cret" {
		t.Errorf("header of k = %q, want the environment's value resolved", got)
	}

	// Following: every change reaches both, within 2 s of its write.
	steps := []struct {
		name     string
		kv       []any
		id, url  string
		rejected int64
	}{
		{"changed", []any{"a", actionJSON("a", "v3")}, "a", "https://hooks.example.com/a/v3", 3},
		{"added", []any{"f", actionJSON("f", "v1")}, "f", "https://hooks.example.com/f/v1", 3},
		{"deleted", []any{"a", nil}, "a", "", 3},
		{"invalid keeps the old", []any{"f", `{"id":"f","trigger":"1 +","url":"https://h.example.com/f"}`}, "f", "https://hooks.example.com/f/v1", 4},
		{"key is not the id", []any{"g", actionJSON("h", "v1")}, "g", "", 5},
		{"env var the worker lacks", []any{"f", `{"id":"f","trigger":"true","url":"https://h.example.com/f","secret_env":"NOPE"}`}, "f", "https://hooks.example.com/f/v1", 6},
	}
	for _, step := range steps {
		written := time.Now()
		tc.put(t, "rules", step.kv...)
		for _, w := range []struct {
			name     string
			url      func() string
			rejected func() int64
		}{
			{"worker 1", func() string { return urlOf(s1, step.id) }, rejected1},
			{"worker 2", func() string { return urlOf(s2, step.id) }, rejected2},
		} {
			kafkatest.Eventually(t, w.name+": "+step.name, func() bool { return w.url() == step.url && w.rejected() == step.rejected })
			took := time.Since(written)
			t.Logf("%s: %s applied %s after the write", w.name, step.name, took)
			if took > 2*time.Second {
				t.Errorf("%s: %s took %s, want within 2s", w.name, step.name, took)
			}
		}
	}
	if s1.Load().Get("h") != nil {
		t.Error("an action written under another key was installed")
	}
}

// TestFollowerKeepsUnchangedAction: writing an action again as it was does
// not install a new version, so the sink keeps gathering its batch.
func TestFollowerKeepsUnchangedAction(t *testing.T) {
	tc := newCluster(t)
	tc.createTopic(t, "rules", 1, "compact")
	tc.put(t, "rules", "a", actionJSON("a", "v1"))
	f, s := follow(t, tc, "rules", nil, nil)
	ready(t, f)
	before, set := s.Load().Get("a"), s.Load()
	tc.put(t, "rules", "a", actionJSON("a", "v1"), "z", actionJSON("z", "v1"))
	kafkatest.Eventually(t, "z installed", func() bool { return s.Load().Get("z") != nil })
	if s.Load().Get("a") != before {
		t.Error("an unchanged action was compiled again")
	}
	if set.Get("z") != nil {
		t.Error("the set loaded before the change was modified")
	}
}

// TestFollowerWaitsForTheTopic: a follower started before its topic exists
// is not ready, and becomes ready once the topic exists.
func TestFollowerWaitsForTheTopic(t *testing.T) {
	tc := newCluster(t)
	f, s := follow(t, tc, "later", nil, nil)
	if f.CaughtUp() {
		t.Fatal("ready before the topic exists")
	}
	tc.createTopic(t, "later", 1, "compact")
	tc.put(t, "later", "a", actionJSON("a", "v1"))
	ready(t, f)
	// The topic may have been listed empty just before the write.
	kafkatest.Eventually(t, "a installed", func() bool { return urlOf(s, "a") != "" })
}

// TestFollowerEndsOnTransactionMarker: a topic written in a transaction ends
// with a commit marker the consumer never returns as a record; the follower
// still sees its end.
func TestFollowerEndsOnTransactionMarker(t *testing.T) {
	tc := newCluster(t)
	tc.createTopic(t, "rules", 1, "compact")
	txn, err := kgo.NewClient(append(tc.Opts(), kgo.TransactionalID("rules-writer"))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(txn.Close)
	if err := txn.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := txn.ProduceSync(ctxT(t), &kgo.Record{Topic: "rules", Key: []byte("a"), Value: []byte(actionJSON("a", "v1"))}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := txn.EndTransaction(ctxT(t), kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	f, s := follow(t, tc, "rules", nil, nil)
	ready(t, f)
	if urlOf(s, "a") == "" {
		t.Error("the committed action is missing after Ready")
	}
}

// TestReadyEndsWithContext: Ready returns the context's error when the
// follower cannot catch up in time.
func TestReadyEndsWithContext(t *testing.T) {
	tc := newCluster(t)
	f, _ := follow(t, tc, "never", nil, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := f.Ready(ctx); err == nil || !strings.Contains(err.Error(), "deadline") {
		t.Errorf("Ready = %v, want the context's deadline", err)
	}
}
