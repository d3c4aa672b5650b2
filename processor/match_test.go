package processor

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/hookstream/hookstream/internal/deadletter"
	"github.com/hookstream/hookstream/internal/telemetry"
	"github.com/hookstream/hookstream/rules"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
)

// metricValue returns the value of one counter series, or 0 if absent.
func metricValue(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// TestMatchRenderSend runs events through real actions: matches are sent
// with their rendered URL and body, a render failure is a mapping dead
// letter for that action only, a failing trigger is counted and does not
// match, and a record that matches nothing is done at once.
func TestMatchRenderSend(t *testing.T) {
	if !rulesReady() {
		t.Skip("rules cannot decode and compile yet")
	}
	no := false
	set, err := rules.CompileAll([]rules.Action{
		{ID: "signups", Trigger: `type == "track" && event == "Signed Up"`, URL: "http://hooks.test/u/{{ userId }}"},
		{ID: "emails", Trigger: `type == "identify"`, URL: "http://hooks.test/e", Payload: map[string]any{"email": "traits.email"}},
		{ID: "by-plan", Trigger: `type == "identify"`, URL: "http://hooks.test/p/{{ traits.plan }}"},
		{ID: "counts", Trigger: `properties.count != nil && properties.count > 3`, URL: "http://hooks.test/c"},
		{ID: "off", Trigger: `true`, URL: "http://hooks.test/off", Enabled: &no},
	}, rules.Options{})
	if err != nil {
		t.Fatal(err)
	}
	store := &rules.Store{}
	store.Swap(set)

	values := []string{
		`{"type":"track","event":"Signed Up","userId":"a b","messageId":"m0"}`,
		`{"type":"identify","userId":"u1","traits":{"email":"x@example.com","plan":{"nested":true}},"messageId":"m1"}`,
		`{"type":"track","event":"Viewed","properties":{"count":"many"},"messageId":"m2"}`,
		`{"type":"page","name":"Home","messageId":"m3"}`,
	}
	prov, metrics, err := telemetry.NewPrometheusMetrics()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = prov.Shutdown(context.Background()) })

	c := startCluster(t, 1)
	c.produce(t, 1, len(values), func(_ int32, i int) []byte { return []byte(values[i]) })
	sink := newTestSink(nil)
	startMember(t, c, "g-match", sink, func(cfg *Config) {
		cfg.Rules = store
		cfg.Metrics = metrics
	})
	c.waitCommitted(t, "g-match", "past every record", all(1, int64(len(values))))

	type key struct {
		offset int64
		action string
	}
	got := map[key]handOver{}
	for _, h := range sink.snapshot() {
		got[key{h.rec.Offset, h.action}] = h
	}
	if len(got) != 3 {
		t.Errorf("%d hand-overs, want 3 (signups, emails, by-plan): %v", len(got), got)
	}
	if h, ok := got[key{0, "signups"}]; !ok || h.letter {
		t.Errorf("offset 0: want a send to signups, got %+v", h)
	}
	if h, ok := got[key{1, "emails"}]; !ok || h.letter {
		t.Errorf("offset 1: want a send to emails, got %+v", h)
	}
	if h := got[key{1, "by-plan"}]; !h.letter || h.reason != deadletter.ReasonMapping {
		t.Errorf("offset 1, by-plan: want a mapping dead letter, got %+v", h)
	} else if me, ok := errors.AsType[*rules.MappingError](h.cause); !ok || me.Action != "by-plan" {
		t.Errorf("by-plan dead letter cause = %v, want a *rules.MappingError for by-plan", h.cause)
	}

	for _, m := range []struct {
		name, label, value string
		want               float64
	}{
		{"hookstream_events_consumed_total", "topic", topic, 4},
		{"hookstream_events_matched_total", "action", "signups", 1},
		{"hookstream_events_matched_total", "action", "emails", 1},
		{"hookstream_events_matched_total", "action", "by-plan", 1},
		{"hookstream_events_matched_total", "action", "off", 0},
		{"hookstream_trigger_errors_total", "action", "counts", 1},
	} {
		if v := metricValue(t, prov.Registry, m.name, m.label, m.value); v != m.want {
			t.Errorf("%s{%s=%q} = %v, want %v", m.name, m.label, m.value, v, m.want)
		}
	}
}

// TestSendCarriesRenderedURLAndBody checks what the sink receives: the
// URL template resolved and path-escaped, the raw value as the body without
// a payload, and the mapped object with one.
func TestSendCarriesRenderedURLAndBody(t *testing.T) {
	if !rulesReady() {
		t.Skip("rules cannot decode and compile yet")
	}
	set, err := rules.CompileAll([]rules.Action{
		{ID: "raw", Trigger: `type == "track"`, URL: "http://hooks.test/u/{{ userId }}"},
		{ID: "mapped", Trigger: `type == "track"`, URL: "http://hooks.test/m", Payload: map[string]any{"who": "userId", "plan": "properties.plan"}},
	}, rules.Options{})
	if err != nil {
		t.Fatal(err)
	}
	store := &rules.Store{}
	store.Swap(set)
	value := `{"type":"track","event":"X","userId":"a b/c","properties":{"plan":"pro"},"messageId":"m0"}`

	c := startCluster(t, 1)
	c.produce(t, 1, 1, func(int32, int) []byte { return []byte(value) })
	sink := &recordingSink{testSink: newTestSink(nil)}
	startMember(t, c, "g-render", sink, func(cfg *Config) { cfg.Rules = store })
	c.waitCommitted(t, "g-render", "past the record", all(1, 1))

	sink.mu.Lock()
	defer sink.mu.Unlock()
	if got := sink.sent["raw"]; got.url != "http://hooks.test/u/a%20b%2Fc" || string(got.body) != value {
		t.Errorf("raw: url %q body %s; want the escaped user id and the record value", got.url, got.body)
	}
	var mapped map[string]any
	if err := json.Unmarshal(sink.sent["mapped"].body, &mapped); err != nil || mapped["who"] != "a b/c" || mapped["plan"] != "pro" || len(mapped) != 2 {
		t.Errorf("mapped body %s (%v), want {who, plan}", sink.sent["mapped"].body, err)
	}
}

// recordingSink also keeps the URL and a copy of the body of each send,
// by action.
type recordingSink struct {
	*testSink
	sent map[string]sent
}

type sent struct {
	url  string
	body []byte
}

func (s *recordingSink) Send(ctx context.Context, a *rules.Compiled, url string, body []byte, rec *kgo.Record, ack Ack) error {
	s.mu.Lock()
	if s.sent == nil {
		s.sent = map[string]sent{}
	}
	s.sent[a.ID] = sent{url, append([]byte(nil), body...)}
	s.mu.Unlock()
	return s.testSink.Send(ctx, a, url, body, rec, ack)
}
