package deploy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// promtool runs Prometheus' promtool, or skips the test where it is not
// installed (Debian package "prometheus"). These checks add PromQL syntax and
// alert behaviour to what the other tests see; they are optional because the
// metric contract is enforced without them.
func promtool(t *testing.T, args ...string) {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not installed")
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, p, args...).CombinedOutput()
	if err != nil {
		t.Errorf("promtool %v: %v\n%s", args, err, out)
	}
}

func TestPromtoolConfig(t *testing.T) {
	promtool(t, "check", "config", repoPath("deploy", "prometheus", "prometheus.yml"))
}

// TestPromtoolAlertUnitTests runs prometheus/alerts_test.yml: each alert fires
// on the series it is meant for, and not before its time.
func TestPromtoolAlertUnitTests(t *testing.T) {
	promtool(t, "test", "rules", repoPath("deploy", "prometheus", "alerts_test.yml"))
}

// TestPromtoolDashboardQueries checks the syntax of every dashboard query by
// writing them as recording rules named after their panels, with Grafana's
// variables replaced by values of the right kind.
func TestPromtoolDashboardQueries(t *testing.T) {
	d := loadDashboard(t)
	type recording struct {
		Record string `json:"record"`
		Expr   string `json:"expr"`
	}
	var recs []recording
	for _, p := range allPanels(d.Panels) {
		for _, tg := range p.Targets {
			recs = append(recs, recording{
				Record: fmt.Sprintf("dashboard:panel_%d_%s", p.ID, tg.RefID),
				Expr:   substituteGrafanaVars(tg.Expr),
			})
		}
	}
	file := map[string]any{"groups": []any{map[string]any{"name": "dashboard", "rules": recs}}}
	b, err := json.Marshal(file) // JSON is YAML
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "dashboard-queries.yml")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	promtool(t, "check", "rules", path)
}

var (
	grafanaDurationVar = regexp.MustCompile(`\$\{?(__rate_interval|__interval|__range)\}?`)
	grafanaAnyVar      = regexp.MustCompile(`\$\{?[A-Za-z0-9_]+\}?`)
)

// substituteGrafanaVars replaces interval variables with a duration and every
// other variable (used in regex matchers) with ".*".
func substituteGrafanaVars(expr string) string {
	expr = grafanaDurationVar.ReplaceAllString(expr, "5m")
	return grafanaAnyVar.ReplaceAllString(expr, ".*")
}

func TestSubstituteGrafanaVars(t *testing.T) {
	got := substituteGrafanaVars(`rate(x{job=~"$job", a=~"${action}"}[$__rate_interval]) + increase(y[${__range}])`)
	want := `rate(x{job=~".*", a=~".*"}[5m]) + increase(y[5m])`
	if got != want {
		t.Errorf("substituteGrafanaVars = %q, want %q", got, want)
	}
}
