package deploy_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// kind is how a metric is exposed to Prometheus.
type kind int

const (
	counter kind = iota
	gauge
	histogram // exposed only as <name>_bucket, <name>_sum and <name>_count
)

// specMetrics is the metric table of SPEC §7: the names users' dashboards and
// alerts depend on. Counters are written with their _total suffix, as the
// SPEC writes them. Change this only together with the SPEC.
var specMetrics = map[string]kind{
	"hookstream_consumer_lag":                  gauge,
	"hookstream_events_consumed_total":         counter,
	"hookstream_events_matched_total":          counter,
	"hookstream_events_delivered_total":        counter,
	"hookstream_events_dead_lettered_total":    counter,
	"hookstream_deliveries_total":              counter,
	"hookstream_delivery_duration_seconds":     histogram,
	"hookstream_batch_size":                    histogram,
	"hookstream_event_latency_seconds":         histogram,
	"hookstream_oldest_undelivered_seconds":    gauge,
	"hookstream_events_parked_total":           counter,
	"hookstream_circuit_state":                 gauge,
	"hookstream_rules_active":                  gauge,
	"hookstream_rules_rejected_total":          counter,
	"hookstream_buffered_bytes":                gauge,
	"hookstream_rate_limit_wait_seconds_total": counter,
	"hookstream_auth_token_fetches_total":      counter,
}

// prometheusMetrics are series Prometheus writes itself for every target;
// alerts may use them, but they count toward no SPEC coverage.
var prometheusMetrics = map[string]bool{"up": true}

// specMetric maps a queried series name to its SPEC metric: a histogram's
// _bucket, _sum and _count series map to the histogram. It fails for names
// outside the SPEC and for a histogram's bare name, which Prometheus never
// has a series for.
func specMetric(series string) (string, error) {
	if k, ok := specMetrics[series]; ok {
		if k == histogram {
			return "", fmt.Errorf("%s is a histogram: query %[1]s_bucket, %[1]s_sum or %[1]s_count", series)
		}
		return series, nil
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(series, suffix); ok && specMetrics[base] == histogram {
			return base, nil
		}
	}
	return "", fmt.Errorf("%s is not a SPEC §7 metric", series)
}

// checkQuery checks that expr queries only SPEC metrics (and Prometheus' own
// series), reporting problems as coming from where. It returns the SPEC
// metrics the expression uses.
func checkQuery(t *testing.T, where, expr string) []string {
	t.Helper()
	names, err := metricNames(expr)
	if err != nil {
		t.Errorf("%s: cannot read query %q: %v", where, expr, err)
		return nil
	}
	if len(names) == 0 {
		t.Errorf("%s: query %q selects no metric", where, expr)
	}
	var used []string
	for _, n := range names {
		if prometheusMetrics[n] {
			continue
		}
		m, err := specMetric(n)
		if err != nil {
			t.Errorf("%s queries an unknown metric (a dead panel or alert): %v; query: %s", where, err, expr)
			continue
		}
		used = append(used, m)
	}
	return used
}

func TestSpecMetric(t *testing.T) {
	tests := []struct {
		name   string
		series string
		want   string // "" = error
	}{
		{"gauge", "hookstream_consumer_lag", "hookstream_consumer_lag"},
		{"counter", "hookstream_events_parked_total", "hookstream_events_parked_total"},
		{"histogram bucket", "hookstream_batch_size_bucket", "hookstream_batch_size"},
		{"histogram count", "hookstream_event_latency_seconds_count", "hookstream_event_latency_seconds"},
		{"histogram sum", "hookstream_delivery_duration_seconds_sum", "hookstream_delivery_duration_seconds"},
		{"bare histogram", "hookstream_batch_size", ""},
		{"counter without _total", "hookstream_events_parked", ""},
		{"suffix on a counter", "hookstream_deliveries_total_count", ""},
		{"unknown", "hookstream_trigger_errors", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := specMetric(tt.series)
			if tt.want == "" {
				if err == nil {
					t.Errorf("specMetric(%q) = %q, want an error", tt.series, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("specMetric(%q) = %q, %v; want %q", tt.series, got, err, tt.want)
			}
		})
	}
}

// repoPath returns a path relative to the repository root; tests run in
// deploy/.
func repoPath(parts ...string) string {
	return filepath.Join(append([]string{".."}, parts...)...)
}

// readYAML decodes a YAML file strictly (unknown fields are errors) into v.
func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
}

// sortedKeys returns m's keys in order, for stable messages.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
