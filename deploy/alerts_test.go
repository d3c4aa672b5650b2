package deploy_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

var alertsFile = repoPath("deploy", "prometheus", "alerts.yml")

// ruleFile is Prometheus' rule file format; decoding is strict, so a
// misspelt field fails here as it would in Prometheus.
type ruleFile struct {
	Groups []ruleGroup `yaml:"groups"`
}

type ruleGroup struct {
	Name        string `yaml:"name"`
	Interval    string `yaml:"interval"`
	QueryOffset string `yaml:"query_offset"`
	Limit       int    `yaml:"limit"`
	Rules       []rule `yaml:"rules"`
}

type rule struct {
	Alert         string            `yaml:"alert"`
	Record        string            `yaml:"record"`
	Expr          string            `yaml:"expr"`
	For           string            `yaml:"for"`
	KeepFiringFor string            `yaml:"keep_firing_for"`
	Labels        map[string]string `yaml:"labels"`
	Annotations   map[string]string `yaml:"annotations"`
}

func loadAlerts(t *testing.T) map[string]rule {
	t.Helper()
	var f ruleFile
	readYAML(t, alertsFile, &f)
	if len(f.Groups) != 1 || f.Groups[0].Name != "hookstream" {
		t.Fatalf("%s: want one group named hookstream, got %d groups", alertsFile, len(f.Groups))
	}
	alerts := map[string]rule{}
	for i, r := range f.Groups[0].Rules {
		if r.Alert == "" || r.Record != "" {
			t.Errorf("rule %d (%q): want an alerting rule (alert set, no record)", i, r.Alert+r.Record)
			continue
		}
		if _, dup := alerts[r.Alert]; dup {
			t.Errorf("alert %s is defined twice", r.Alert)
		}
		alerts[r.Alert] = r
	}
	return alerts
}

// promDuration is Prometheus' duration syntax (units ms, s, m, h, d, w, y).
var promDuration = regexp.MustCompile(`^([0-9]+(ms|s|m|h|d|w|y))+$`)

// TestAlertsShape checks every alert: SPEC metrics only, a severity, a
// summary and a description, durations Prometheus accepts.
func TestAlertsShape(t *testing.T) {
	alerts := loadAlerts(t)
	used := map[string]bool{}
	for _, name := range sortedKeys(alerts) {
		r := alerts[name]
		where := "alert " + name
		if !strings.HasPrefix(name, "Hookstream") {
			t.Errorf("%s: alert names start with Hookstream, so they group together in Alertmanager", where)
		}
		if strings.Contains(r.Expr, "$") {
			t.Errorf("%s: expression uses a Grafana-style variable: %s", where, r.Expr)
		}
		for _, m := range checkQuery(t, where, r.Expr) {
			used[m] = true
		}
		for _, d := range []string{r.For, r.KeepFiringFor} {
			if d != "" && !promDuration.MatchString(d) {
				t.Errorf("%s: duration %q is not a Prometheus duration", where, d)
			}
		}
		switch r.Labels["severity"] {
		case "critical", "warning", "info":
		default:
			t.Errorf("%s: labels.severity = %q, want critical, warning or info", where, r.Labels["severity"])
		}
		for _, a := range []string{"summary", "description"} {
			if strings.TrimSpace(r.Annotations[a]) == "" {
				t.Errorf("%s: annotation %s is empty", where, a)
			}
		}
	}
	if len(used) == 0 {
		t.Error("no alert queries a SPEC metric")
	}
}

// TestAlertsCoverOperations checks the alerts operators rely on exist and
// watch the right thing.
func TestAlertsCoverOperations(t *testing.T) {
	alerts := loadAlerts(t)
	tests := []struct {
		name     string // alert
		for_     string
		contains []string // in the expression, in order
	}{
		{"HookstreamConsumerLagGrowing", "10m", []string{"hookstream_consumer_lag", "deriv(", "hookstream_consumer_lag", "[10m:"}},
		{"HookstreamConsumptionStalled", "10m", []string{"hookstream_consumer_lag", "hookstream_events_consumed_total"}},
		{"HookstreamCircuitOpen", "5m", []string{"hookstream_circuit_state", "== 2"}},
		{"HookstreamDeadLetters", "", []string{"increase(hookstream_events_dead_lettered_total[10m])", "> 0"}},
		{"HookstreamOldestUndeliveredHigh", "5m", []string{"hookstream_oldest_undelivered_seconds", ">"}},
		{"HookstreamDeliveryErrors", "10m", []string{`hookstream_deliveries_total{code!="2xx"}`, "/", "hookstream_deliveries_total"}},
		{"HookstreamEventsParked", "", []string{"increase(hookstream_events_parked_total"}},
		{"HookstreamRulesRejected", "", []string{"increase(hookstream_rules_rejected_total"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, ok := alerts[tt.name]
			if !ok {
				t.Fatalf("alert %s is missing from %s", tt.name, alertsFile)
			}
			if r.For != tt.for_ {
				t.Errorf("for = %q, want %q", r.For, tt.for_)
			}
			if err := containsInOrder(r.Expr, tt.contains); err != nil {
				t.Errorf("expr %q: %v", r.Expr, err)
			}
		})
	}
}

// containsInOrder reports the first of parts not found after the previous one.
func containsInOrder(s string, parts []string) error {
	rest := s
	for _, p := range parts {
		i := strings.Index(rest, p)
		if i < 0 {
			return fmt.Errorf("want %q (after the previous parts)", p)
		}
		rest = rest[i+len(p):]
	}
	return nil
}
