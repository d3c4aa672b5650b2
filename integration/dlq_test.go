package integration

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// replayOutput is the part of `dlq replay --output json` the test reads.
type replayOutput struct {
	DryRun  bool `json:"dry_run"`
	Summary struct {
		Selected, Replayed int
		Skipped            map[string]int
	} `json:"summary"`
	Letters []struct {
		Action    string `json:"action"`
		MessageID string `json:"messageId"`
		Partition int32  `json:"dlq_partition"`
		Offset    int64  `json:"dlq_offset"`
		Skip      string `json:"skip"`
	} `json:"letters"`
}

func replay(t *testing.T, args ...string) replayOutput {
	t.Helper()
	out, code := runHookstream(t, nil, append([]string{"dlq", "replay", "--output", "json"}, args...)...)
	var r replayOutput
	if err := json.Unmarshal([]byte(out), &r); err != nil || code != 0 {
		t.Fatalf("dlq replay %v: exit %d, %v\n%s", args, code, err, out)
	}
	return r
}

// An endpoint answering 400 dead-letters its events; once it is fixed,
// `dlq replay` delivers exactly those events, each once with its
// messageId, through a running worker; the poison record is skipped, and a
// second --dry-run selects the same dead letters.
func TestDLQReplayDeliversFixedEndpoint(t *testing.T) {
	const paid, viewed = 12, 5
	c := startCluster(t, 2, "events")
	var fixed atomic.Bool
	rv := startReceiver(t, func(_ int, r *http.Request, _ []byte) (int, http.Header) {
		if r.URL.Path == "/crm" && !fixed.Load() {
			return http.StatusBadRequest, nil
		}
		return http.StatusOK, nil
	})
	rulesYAML := rulesFor(`actions:
- id: crm
  trigger: event == "Paid"
  url: URL/crm
- id: views
  trigger: event == "Viewed"
  url: URL/views
`, rv.URL)
	rulesFile := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(rulesFile, []byte(rulesYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	var recs []*kgo.Record
	want := map[string]int{}
	for i := range paid + viewed {
		name := "Paid"
		if i >= paid {
			name = "Viewed"
		} else {
			want[fmt.Sprintf("m-%d", i)] = 1
		}
		recs = append(recs, &kgo.Record{Topic: "events", Partition: int32(i % 2), Value: trackEvent(i, name)})
	}
	recs = append(recs, &kgo.Record{Topic: "events", Partition: 0, Value: []byte("not json")})
	c.Produce(t, recs...)

	w := startWorker(t, c, "g-replay", rulesYAML, nil)
	c.Read(t, "hookstream.dlq", paid+1) // every Paid event, and the poison record
	rv.waitFor(t, "the viewed events", func(reqs []request) bool { return len(deliveredTo(t, reqs, "/views")) == viewed })
	if got := deliveredTo(t, rv.requests(), "/crm"); len(got) != 0 {
		t.Fatalf("delivered %v to the failing endpoint before the replay", got)
	}

	fixed.Store(true)
	args := []string{"--brokers", c.Addr, "--rules", rulesFile, "--since", "1h"}
	first := replay(t, args...)
	if first.DryRun || first.Summary.Selected != paid+1 || first.Summary.Replayed != paid || first.Summary.Skipped["no_action"] != 1 {
		t.Fatalf("replay summary %+v, want %d selected, %d replayed, the poison record skipped", first.Summary, paid+1, paid)
	}
	rv.waitFor(t, "the replayed events", func(reqs []request) bool { return len(deliveredTo(t, reqs, "/crm")) == paid })
	// Once the worker has stopped, nothing more can arrive: what was
	// delivered is final.
	if code := w.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("worker exit %d", code)
	}
	if got := deliveredTo(t, rv.requests(), "/crm"); !maps.Equal(got, want) {
		t.Errorf("delivered to the fixed endpoint %v, want each of %v once", got, slices.Sorted(maps.Keys(want)))
	}
	if got := deliveredTo(t, rv.requests(), "/views"); len(got) != viewed {
		t.Errorf("the views endpoint got %d events, want its %d only", len(got), viewed)
	}

	second := replay(t, append(args, "--dry-run")...)
	if !second.DryRun || !slices.Equal(second.Letters, first.Letters) {
		t.Errorf("dry run selected %+v, want the first replay's %+v", second.Letters, first.Letters)
	}
}

// deliveredTo counts, per messageId, the events acknowledged with a 2xx
// on path.
func deliveredTo(t *testing.T, reqs []request, path string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, batch := range byPath(t, reqs)[path] {
		for _, id := range batch {
			out[id]++
		}
	}
	return out
}
