package bench

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/expr-lang/expr/vm"
	"github.com/hookstream/hookstream/processor"
	"github.com/hookstream/hookstream/rules"
	"github.com/hookstream/hookstream/sink"
)

// TestGeneratedEventsMatchTheDefaultRules checks the backlog against the
// real rules code: every event is a valid CDP event, about the asked size,
// and the default actions (or those of --actions) want exactly the ones the
// generator says.
func TestGeneratedEventsMatchTheDefaultRules(t *testing.T) {
	for _, actions := range []int{0, 1, 500} {
		t.Run(fmt.Sprintf("actions=%d", actions), func(t *testing.T) {
			set, err := compileDefault("http://receiver.test/orders", time.Second, actions, []byte("s"))
			if err != nil {
				t.Fatal(err)
			}
			if want := cmp.Or(actions, 3); len(set.Actions) != want {
				t.Fatalf("%d actions, want %d", len(set.Actions), want)
			}
			matchDefaultRules(t, set)
		})
	}
}

func matchDefaultRules(t *testing.T, set *rules.Set) {
	const n, want, size = 5000, 2000, 400
	g := newGenerator(7, size, 0.5)
	pick := g.exactly(want, n)
	var (
		ev      rules.Event
		v       vm.VM
		matches []*rules.Compiled
		total   int
		got     int
	)
	for i := range n {
		matched := pick()
		key, value := g.event(time.Now(), matched)
		total += len(value)
		if err := rules.Decode(value, 0, &ev); err != nil {
			t.Fatalf("event %d does not decode: %v\n%s", i, err, value)
		}
		if !json.Valid(value) {
			t.Fatalf("event %d is not valid JSON: %s", i, value)
		}
		if k := string(key); k != ev.UserID {
			t.Fatalf("event %d: key %q, userId %v", i, k, ev.UserID)
		}
		matches = set.Match(&ev, &v, matches[:0], func(a *rules.Compiled, err error) {
			t.Errorf("event %d: trigger of %s failed: %v", i, a.ID, err)
		})
		switch {
		case matched && (len(matches) != 1 || matches[0].ID != "bench-orders"):
			t.Fatalf("event %d: matched %v, want bench-orders\n%s", i, ids(matches), value)
		case !matched && len(matches) > 0:
			t.Fatalf("event %d: matched %v, want none\n%s", i, ids(matches), value)
		}
		if matched {
			got++
		}
	}
	if got != want {
		t.Errorf("%d events matched, want exactly %d", got, want)
	}
	if avg := total / n; avg < size-10 || avg > size+10 {
		t.Errorf("average event of %d bytes, want about %d", avg, size)
	}
}

func ids(cs []*rules.Compiled) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

func TestBacklogMatches(t *testing.T) {
	tests := []struct {
		name  string
		n     int
		match float64
		want  int
	}{
		{"half of a million", 1_000_000, 0.5, 500_000},
		{"rounded to whole batches", 20_001, 0.5, 10_000},
		{"rounded up", 3000, 0.5, 2000},
		{"fewer than a batch", 1000, 0.5, 500},
		{"none", 1000, 0, 0},
		{"all", 1500, 1, 1500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := backlogMatches(tt.n, tt.match); got != tt.want {
				t.Errorf("backlogMatches(%d, %g) = %d, want %d", tt.n, tt.match, got, tt.want)
			}
		})
	}
}

func TestReceiver(t *testing.T) {
	secret := []byte("shh")
	body := []byte(`[{"messageId":"a"},{"messageId":"b"}]`)
	tests := []struct {
		name string
		sig  string
		code int
		want ReceiverStats
	}{
		{"signed", sink.Sign(secret, body), http.StatusNoContent, ReceiverStats{Requests: 1, Events: 2, Bytes: int64(len(body))}},
		{"bad signature", sink.Sign([]byte("other"), body), http.StatusUnauthorized, ReceiverStats{Requests: 1, BadSignatures: 1}},
		{"unsigned", "", http.StatusNoContent, ReceiverStats{Requests: 1, Events: 2, Bytes: int64(len(body)), Unsigned: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rv := NewReceiver(secret)
			req := httptest.NewRequest(http.MethodPost, "/orders", bytes.NewReader(body))
			if tt.sig != "" {
				req.Header.Set(sink.HeaderSignature, tt.sig)
			}
			rec := httptest.NewRecorder()
			rv.ServeHTTP(rec, req)
			if rec.Code != tt.code {
				t.Errorf("status %d, want %d", rec.Code, tt.code)
			}
			if got := rv.Stats(); got != tt.want {
				t.Errorf("stats %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestObserver checks what the wrapped delivery client sees: answers
// counted, and latency taken from sentAt only while the phase runs and only
// for events sent since it began.
func TestObserver(t *testing.T) {
	status := make(chan int, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(<-status)
	}))
	t.Cleanup(srv.Close)
	o := &observer{}
	cl := o.wrap(nil)
	post := func(code int, sent ...time.Time) {
		t.Helper()
		var b strings.Builder
		b.WriteString("[")
		for i, s := range sent {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `{"messageId":"m%d","sentAt":%q}`, i, s.UTC().Format(sentAtLayout))
		}
		b.WriteString("]")
		status <- code
		req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.URL, strings.NewReader(b.String()))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}

	start := time.Now().Add(-time.Second)             // the phase began a second ago
	post(http.StatusOK, start.Add(-time.Millisecond)) // sent before the phase: counted, not sampled
	o.startLatency(start)
	post(http.StatusOK, start.Add(-time.Minute), start.Add(10*time.Millisecond), start.Add(20*time.Millisecond))
	post(http.StatusInternalServerError, start.Add(30*time.Millisecond)) // not delivered: not sampled
	samples := o.stopLatency()
	post(http.StatusOK, start.Add(40*time.Millisecond)) // delivered after the phase

	if ok, failed := o.ok.Load(), o.failed.Load(); ok != 3 || failed != 1 {
		t.Errorf("%d answers 2xx and %d not, want 3 and 1", ok, failed)
	}
	if len(samples) != 2 {
		t.Fatalf("%d samples, want 2 (the events sent since the phase began and delivered): %v", len(samples), samples)
	}
	for _, s := range samples {
		if s < 900*time.Millisecond || s > time.Minute {
			t.Errorf("sample %s, want the time from sentAt to the answer", s)
		}
	}
}

func TestPercentile(t *testing.T) {
	var samples []time.Duration
	for i := range 100 {
		samples = append(samples, time.Duration(100-i)*time.Millisecond)
	}
	var l LatencyPhase
	l.latencyFigures(samples)
	if l.Samples != 100 || l.P50MS != 50 || l.P99MS != 99 || l.MaxMS != 100 {
		t.Errorf("figures %+v, want p50 50, p99 99, max 100 over 100", l)
	}
	l = LatencyPhase{}
	l.latencyFigures(nil)
	if l.P99MS != 0 || l.Samples != 0 {
		t.Errorf("figures of no samples %+v, want zeros", l)
	}
}

func TestRemaining(t *testing.T) {
	ends := map[int32]int64{0: 100, 1: 50, 2: 0}
	tests := []struct {
		name string
		st   []processor.PartitionStatus
		want int64
	}{
		{"not assigned yet", nil, 150},
		{"nothing done", []processor.PartitionStatus{{Topic: "t", Partition: 0, Committable: -1}, {Topic: "t", Partition: 1, Committable: -1}}, 150},
		{"part done", []processor.PartitionStatus{{Topic: "t", Partition: 0, Committable: 60}, {Topic: "t", Partition: 1, Committable: 50}}, 40},
		{"all done", []processor.PartitionStatus{{Topic: "t", Partition: 0, Committable: 100}, {Topic: "t", Partition: 1, Committable: 50}}, 0},
		{"other topics ignored", []processor.PartitionStatus{{Topic: "t", Partition: 0, Committable: 100}, {Topic: "t", Partition: 1, Committable: 50},
			{Topic: "hookstream.retry", Partition: 0, Committable: -1}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := remaining(tt.st, "t", ends); got != tt.want {
				t.Errorf("remaining = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestConfigCheck(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"defaults", Config{}, nil},
		{"no match", Config{Match: NoMatch}, nil},
		{"bad values", Config{Events: -1, Size: 10, Partitions: 5000, Match: 1.5, Rate: -1},
			[]string{"--events -1", "--size 10", "--partitions 5000", "--match 1.5", "--rate -1"}},
		{"actions", Config{Actions: 10_000}, nil},
		{"too many actions", Config{Actions: MaxActions + 1}, []string{"--actions 100001"}},
		{"actions and rules", Config{Actions: 5, Rules: &rules.Set{}}, []string{"--actions and --rules"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Check()
			if (err != nil) != (len(tt.want) > 0) {
				t.Fatalf("Check() = %v, want errors %v", err, tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// TestResultKeepsTheBestRuns: with several runs, raw and pipeline are each
// the fastest of its kind, and the ratio compares those two.
func TestResultKeepsTheBestRuns(t *testing.T) {
	var r Result
	r.add(Phase{EventsPerSecond: 1000}, PipelinePhase{Phase: Phase{EventsPerSecond: 300, CPUPerMillion: 3}})
	r.add(Phase{EventsPerSecond: 800}, PipelinePhase{Phase: Phase{EventsPerSecond: 400, CPUPerMillion: 2}})
	r.add(Phase{EventsPerSecond: 900}, PipelinePhase{Phase: Phase{EventsPerSecond: 100, CPUPerMillion: 4}})
	if r.Raw.EventsPerSecond != 1000 || r.Pipeline.EventsPerSecond != 400 || r.Pipeline.CPUPerMillion != 2 {
		t.Errorf("kept raw %v and pipeline %+v, want 1000 and the 400/s run", r.Raw.EventsPerSecond, r.Pipeline.Phase)
	}
	if r.Pipeline.RatioToRaw != 0.4 {
		t.Errorf("ratio %v, want 0.4", r.Pipeline.RatioToRaw)
	}
	if len(r.Runs) != 3 || r.Runs[1].RatioToRaw != 0.5 {
		t.Errorf("runs %+v, want three with the second at 0.5", r.Runs)
	}
}
