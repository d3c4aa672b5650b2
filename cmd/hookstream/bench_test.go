package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// benchFields are the keys of `hookstream bench --json` that scripts read.
// Renaming one breaks them, so each is listed here as written.
var benchFields = map[string][]string{
	"setup": {"broker", "endpoint", "topic", "events", "event_bytes", "partitions", "match",
		"actions", "runs", "cpus", "go_version", "cpu_includes"},
	"produce": phaseFields,
	"raw":     phaseFields,
	"pipeline": append([]string{"ratio_to_raw", "peak_rss_bytes", "rss_at_start_bytes", "failed_requests", "receiver"},
		phaseFields...),
	"latency": {"rate", "seconds", "events", "samples", "batch_wait_ms", "p50_ms", "p99_ms", "max_ms",
		"load_average_start", "load_average_end"},
}

var phaseFields = []string{"events", "bytes", "seconds", "events_per_second", "mb_per_second", "cpu_seconds",
	"cpu_seconds_per_million_events", "load_average_start", "load_average_end", "matched_events",
	"delivered_events", "delivery_requests"}

// TestBenchJSON runs the benchmark in short mode, as CI does: it checks
// that the command works end to end and that its JSON has every field, not
// how fast anything is.
func TestBenchJSON(t *testing.T) {
	r := hookstream(t, nil, "bench", "--events", "20000", "--partitions", "4", "--latency-duration", "1s",
		"--batch-wait", "200ms", "--runs", "2", "--json")
	if r.code != 0 {
		t.Fatalf("exit code %d\nstderr: %s", r.code, r.stderr)
	}
	var runs struct {
		Runs []map[string]any `json:"runs"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &runs); err != nil {
		t.Fatalf("output is not the JSON result: %v\n%s", err, r.stdout)
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal([]byte(r.stdout), &all); err != nil {
		t.Fatal(err)
	}
	delete(all, "runs")
	res := map[string]map[string]any{}
	for k, v := range all {
		var m map[string]any
		if err := json.Unmarshal(v, &m); err != nil {
			t.Fatalf("%s is not an object: %v", k, err)
		}
		res[k] = m
	}
	if len(runs.Runs) != 2 {
		t.Fatalf("%d runs in the JSON, want 2", len(runs.Runs))
	}
	for i, run := range runs.Runs {
		for _, k := range []string{"raw_events_per_second", "pipeline_events_per_second", "ratio_to_raw",
			"pipeline_cpu_seconds_per_million_events", "pipeline_peak_rss_bytes", "load_average"} {
			if _, ok := run[k]; !ok {
				t.Errorf("runs[%d].%s missing from the JSON", i, k)
			}
		}
	}
	for section, keys := range benchFields {
		for _, k := range keys {
			if _, ok := res[section][k]; !ok {
				t.Errorf("%s.%s missing from the JSON", section, k)
			}
		}
	}
	num := func(section, key string) float64 {
		v, _ := res[section][key].(float64)
		return v
	}
	if got := num("pipeline", "events"); got != 20000 {
		t.Errorf("pipeline.events = %v, want 20000", got)
	}
	// The default action wants half the backlog, rounded to whole batches;
	// the loopback receiver must have verified every one of them.
	if got := num("pipeline", "matched_events"); got != 10000 {
		t.Errorf("pipeline.matched_events = %v, want 10000", got)
	}
	if got, want := num("pipeline", "delivered_events"), num("pipeline", "matched_events"); got != want {
		t.Errorf("pipeline.delivered_events = %v, want %v", got, want)
	}
	rc, _ := res["pipeline"]["receiver"].(map[string]any)
	if bad, _ := rc["bad_signatures"].(float64); bad != 0 || rc["events"] != 10000.0 {
		t.Errorf("receiver = %v, want 10000 events and no bad signature", rc)
	}
	for _, f := range [][2]string{{"raw", "events_per_second"}, {"pipeline", "events_per_second"},
		{"pipeline", "ratio_to_raw"}, {"pipeline", "cpu_seconds"}, {"latency", "samples"}, {"latency", "p99_ms"}} {
		if num(f[0], f[1]) <= 0 {
			t.Errorf("%s.%s = %v, want > 0", f[0], f[1], res[f[0]][f[1]])
		}
	}
	if p50, p99 := num("latency", "p50_ms"), num("latency", "p99_ms"); p50 > p99 {
		t.Errorf("latency p50 %v ms > p99 %v ms", p50, p99)
	}
}

// TestBenchTable checks the output for people, with the generated rule
// set of --actions: every event the one action wants is delivered.
func TestBenchTable(t *testing.T) {
	r := hookstream(t, nil, "bench", "--events", "3000", "--partitions", "2", "--latency-duration", "0", "--actions", "300")
	if r.code != 0 {
		t.Fatalf("exit code %d\nstderr: %s", r.code, r.stderr)
	}
	for _, want := range []string{"raw consume", "pipeline", "pipeline / raw", "CPU s per 1M", "peak RSS",
		"latency                 not measured", "the embedded broker", "300 actions",
		"delivered               2000 of 2000 matched events"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output does not contain %q:\n%s", want, r.stdout)
		}
	}
}

// TestBenchActionsAndRules: --actions generates a rule set, --rules reads
// one; asking for both is bad usage.
func TestBenchActionsAndRules(t *testing.T) {
	file := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(file, []byte("actions:\n- id: a\n  trigger: 'true'\n  url: http://127.0.0.1:1/\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := hookstream(t, nil, "bench", "--actions", "10", "--rules", file)
	if r.code != 2 || !strings.Contains(r.stderr, "--actions and --rules") {
		t.Errorf("exit code %d, stderr %q: want 2 naming both flags", r.code, r.stderr)
	}
}
