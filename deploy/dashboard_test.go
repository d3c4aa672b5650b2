package deploy_test

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
)

// dashboardFile is the provisioned Grafana dashboard, also meant for import.
var dashboardFile = repoPath("deploy", "grafana", "dashboards", "hookstream.json")

// The parts of Grafana's dashboard model these tests read.
type dashboard struct {
	UID        string  `json:"uid"`
	Title      string  `json:"title"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []variable `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int                      `json:"id"`
	Type       string                   `json:"type"`
	Title      string                   `json:"title"`
	Datasource *datasourceRef           `json:"datasource"`
	GridPos    struct{ H, W, X, Y int } `json:"gridPos"`
	Targets    []target                 `json:"targets"`
	Panels     []panel                  `json:"panels"` // a collapsed row's panels
}

type target struct {
	RefID      string         `json:"refId"`
	Expr       string         `json:"expr"`
	Datasource *datasourceRef `json:"datasource"`
}

type datasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type variable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"` // a string, or {"query": "..."} in newer Grafana
	Datasource *datasourceRef  `json:"datasource"`
}

// text returns a query variable's query string.
func (v variable) text() (string, error) {
	var s string
	if err := json.Unmarshal(v.Query, &s); err == nil {
		return s, nil
	}
	var obj struct {
		Query string `json:"query"`
	}
	if err := json.Unmarshal(v.Query, &obj); err != nil {
		return "", fmt.Errorf("variable %s: query is neither a string nor an object: %w", v.Name, err)
	}
	return obj.Query, nil
}

// datasourceVar is how every panel refers to its datasource, so the
// dashboard works against any Prometheus once imported.
const datasourceVar = "${datasource}"

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("decode %s: %v", dashboardFile, err)
	}
	if len(d.Panels) == 0 {
		t.Fatalf("%s has no panels", dashboardFile)
	}
	return d
}

// allPanels flattens rows, collapsed or not.
func allPanels(ps []panel) []panel {
	var out []panel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, allPanels(p.Panels)...)
	}
	return out
}

// TestDashboardQueriesSpecMetrics is the "no dead panels" check: every query
// selects SPEC §7 metrics only, and every SPEC metric is shown somewhere.
func TestDashboardQueriesSpecMetrics(t *testing.T) {
	d := loadDashboard(t)
	shown := map[string]bool{}
	for _, p := range allPanels(d.Panels) {
		for _, tg := range p.Targets {
			where := fmt.Sprintf("dashboard panel %q (id %d) query %s", p.Title, p.ID, tg.RefID)
			if strings.TrimSpace(tg.Expr) == "" {
				t.Errorf("%s: empty expression", where)
				continue
			}
			for _, m := range checkQuery(t, where, tg.Expr) {
				shown[m] = true
			}
		}
	}
	for _, m := range sortedKeys(specMetrics) {
		if !shown[m] {
			t.Errorf("SPEC metric %s appears in no dashboard panel", m)
		}
	}

	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		q, err := v.text()
		if err != nil {
			t.Error(err)
			continue
		}
		if sel := variableSelector(q); sel != "" {
			checkQuery(t, fmt.Sprintf("dashboard variable %s", v.Name), sel)
		}
	}
}

// variableSelector returns the PromQL part of a Grafana Prometheus variable
// query: the selector of label_values(selector, label), the expression of
// query_result(expr), or "" when there is none (label_values(label),
// label_names(), metrics(regex)).
func variableSelector(q string) string {
	q = strings.TrimSpace(q)
	if inner, ok := strings.CutPrefix(q, "label_values("); ok {
		inner = strings.TrimSuffix(inner, ")")
		i := strings.LastIndex(inner, ",")
		if i < 0 {
			return ""
		}
		return inner[:i]
	}
	if inner, ok := strings.CutPrefix(q, "query_result("); ok {
		return strings.TrimSuffix(inner, ")")
	}
	if strings.HasPrefix(q, "label_names(") || strings.HasPrefix(q, "metrics(") {
		return ""
	}
	return q
}

var grafanaVarRef = regexp.MustCompile(`\$\{?([A-Za-z0-9_]+)|\[\[([A-Za-z0-9_]+)`)

// grafanaBuiltins are variables Grafana defines for every query.
var grafanaBuiltins = map[string]bool{"__rate_interval": true, "__interval": true, "__interval_ms": true,
	"__range": true, "__range_s": true, "__range_ms": true}

func TestDashboardVariables(t *testing.T) {
	d := loadDashboard(t)
	defined := map[string]variable{}
	for _, v := range d.Templating.List {
		defined[v.Name] = v
	}
	ds, ok := defined["datasource"]
	if !ok || ds.Type != "datasource" || string(ds.Query) != `"prometheus"` {
		t.Fatalf("dashboard needs a variable \"datasource\" of type datasource and query prometheus, got %+v", ds)
	}

	check := func(where, text string) {
		for _, m := range grafanaVarRef.FindAllStringSubmatch(text, -1) {
			name := m[1] + m[2]
			if _, ok := defined[name]; !ok && !grafanaBuiltins[name] {
				t.Errorf("%s uses undefined variable $%s", where, name)
			}
		}
	}
	checkDS := func(where string, ref *datasourceRef) {
		if ref == nil || ref.UID != datasourceVar || ref.Type != "prometheus" {
			t.Errorf("%s: datasource %+v, want {prometheus %s} so that imports can pick theirs", where, ref, datasourceVar)
		}
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		q, err := v.text()
		if err != nil {
			t.Error(err)
			continue
		}
		check("variable "+v.Name, q)
		checkDS("variable "+v.Name, v.Datasource)
	}
	for _, p := range allPanels(d.Panels) {
		if p.Type == "row" {
			continue
		}
		where := fmt.Sprintf("panel %q (id %d)", p.Title, p.ID)
		checkDS(where, p.Datasource)
		if len(p.Targets) == 0 {
			t.Errorf("%s has no query", where)
		}
		for _, tg := range p.Targets {
			check(where+" query "+tg.RefID, tg.Expr)
			checkDS(where+" query "+tg.RefID, tg.Datasource)
		}
	}
}

func TestDashboardLayout(t *testing.T) {
	d := loadDashboard(t)
	if d.UID == "" || d.Title == "" {
		t.Errorf("dashboard uid %q and title %q must both be set (links and provisioning use the uid)", d.UID, d.Title)
	}
	ids := map[int]string{}
	ps := allPanels(d.Panels)
	for i, p := range ps {
		where := fmt.Sprintf("panel %q (id %d)", p.Title, p.ID)
		if p.Title == "" {
			t.Errorf("panel id %d has no title", p.ID)
		}
		if prev, dup := ids[p.ID]; dup || p.ID <= 0 {
			t.Errorf("%s: id must be positive and unique (also used by %q)", where, prev)
		}
		ids[p.ID] = p.Title
		g := p.GridPos
		if g.W < 1 || g.H < 1 || g.X < 0 || g.Y < 0 || g.X+g.W > 24 {
			t.Errorf("%s: gridPos %+v does not fit the 24-column grid", where, g)
		}
		for _, q := range ps[:i] {
			h := q.GridPos
			if g.X < h.X+h.W && h.X < g.X+g.W && g.Y < h.Y+h.H && h.Y < g.Y+g.H {
				t.Errorf("%s overlaps panel %q (id %d)", where, q.Title, q.ID)
			}
		}
	}
}

func TestVariableSelector(t *testing.T) {
	tests := []struct{ name, query, want string }{
		{"label values of a selector", `label_values(x{job=~"$job"}, action)`, `x{job=~"$job"}`},
		{"label values of a label", `label_values(job)`, ""},
		{"query result", `query_result(sum(x))`, `sum(x)`},
		{"label names", `label_names()`, ""},
		{"plain expression", `sum(x)`, `sum(x)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := variableSelector(tt.query); got != tt.want {
				t.Errorf("variableSelector(%q) = %q, want %q", tt.query, got, tt.want)
			}
		})
	}
}
