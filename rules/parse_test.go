package rules

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseYAMLSample(t *testing.T) {
	data, err := os.ReadFile("testdata/rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	actions, err := ParseYAML(data, "rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]Action{}
	for _, a := range actions {
		byID[a.ID] = a
	}
	if len(byID) != 4 {
		t.Fatalf("got %d actions, want 4", len(byID))
	}
	crm := byID["signups-to-crm"]
	if crm.Batch == nil || crm.Batch.Size != 500 || crm.Batch.Wait.D() != 2*time.Second {
		t.Errorf("signups-to-crm batch = %+v", crm.Batch)
	}
	if crm.Headers["Authorization"] != "Bearer ${env:CRM_TOKEN}" {
		t.Errorf("headers = %v", crm.Headers)
	}
	if contact, ok := crm.Payload["contact"].(map[string]any); !ok || contact["ip"] != "context.ip" {
		t.Errorf("payload = %v", crm.Payload)
	}
	orders := byID["orders-to-warehouse"]
	if orders.Timeout.D() != 5*time.Second || orders.Breaker.Failures != 3 || orders.Retry.ParkAfter.D() != time.Minute {
		t.Errorf("merged settings not applied: %+v", orders)
	}
	if orders.Batch == nil || *orders.Batch != (Batch{}) {
		t.Errorf("batch: {} = %+v, want an empty batch (defaults)", orders.Batch)
	}
	if pv := byID["page-views-analytics"]; pv.Enabled == nil || *pv.Enabled {
		t.Errorf("enabled: false not read: %v", pv.Enabled)
	}
}

func TestParseYAMLProblems(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // every line must appear in the error
	}{
		{
			name: "unknown fields with lines",
			yaml: "actions:\n- id: a\n  tigger: x\n  batch:\n    sise: 3\n",
			want: []string{`f.yaml:3: action "a": tigger: unknown field`, `f.yaml:5: action "a": batch.sise: unknown field`},
		},
		{
			name: "id named even when written last",
			yaml: "actions:\n- url: 5\n  colour: red\n  id: late\n",
			want: []string{`f.yaml:3: action "late": colour: unknown field`},
		},
		{
			name: "wrong types",
			yaml: "actions:\n- id: a\n  batch: {size: ten}\n  enabled: maybe\n  timeout: 10\n  headers: [x]\n  retry: 5\n",
			want: []string{
				`f.yaml:3: action "a": batch.size: want an integer, got the string "ten"`,
				`f.yaml:4: action "a": enabled: want true or false`,
				`f.yaml:5: action "a": timeout: want a duration such as "200ms" or "1h", got "10"`,
				`f.yaml:6: action "a": headers: want a mapping, got a list`,
				`f.yaml:7: action "a": retry: want a mapping`,
			},
		},
		{
			name: "negative duration",
			yaml: "actions:\n- id: a\n  timeout: -5s\n",
			want: []string{`f.yaml:3: action "a": timeout: want a positive duration, got "-5s"`},
		},
		{
			name: "key written twice",
			yaml: "actions:\n- id: a\n  url: https://x\n  url: https://y\n",
			want: []string{`f.yaml:4: action "a": url: written twice`},
		},
		{
			name: "payload null and list",
			yaml: "actions:\n- id: a\n  payload:\n    x:\n    y: [1]\n",
			want: []string{`f.yaml:4: action "a": payload.x: want an expression or a mapping, got null`, `f.yaml:5: action "a": payload.y: want an expression or a mapping, got a list`},
		},
		{
			name: "action not a mapping",
			yaml: "actions:\n- just a string\n",
			want: []string{`f.yaml:2: action #1: want a mapping, got the string "just a string"`},
		},
		{
			name: "unknown top-level field",
			yaml: "action:\n- id: a\n",
			want: []string{`f.yaml:1: unknown top-level field "action", want actions`, `no top-level actions: list`},
		},
		{
			name: "actions not a list",
			yaml: "actions:\n  id: a\n",
			want: []string{`f.yaml:2: actions: want a list, got a mapping`},
		},
		{
			name: "syntax error",
			yaml: "actions:\n- id: a\n   trigger: x\n",
			want: []string{`f.yaml:3: mapping values are not allowed in this context`},
		},
		{
			name: "empty file",
			yaml: "",
			want: []string{`f.yaml: empty rules file`},
		},
		{
			name: "two documents",
			yaml: "actions: []\n---\nactions: []\n",
			want: []string{`more than one YAML document`},
		},
		{
			name: "not a mapping",
			yaml: "- id: a\n",
			want: []string{`f.yaml:1: want a mapping with a top-level actions: list, got a list`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseYAML([]byte(tt.yaml), "f.yaml")
			if err == nil {
				t.Fatal("ParseYAML accepted the file")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%s\ndoes not contain\n%s", err, w)
				}
			}
			if len(FieldErrors(err)) != strings.Count(err.Error(), "\n")+1 {
				t.Errorf("FieldErrors found %d of the problems in %q", len(FieldErrors(err)), err)
			}
		})
	}
}

func TestParseYAMLAccepts(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		check func([]Action) bool
	}{
		{"null actions", "actions:\n", func(a []Action) bool { return len(a) == 0 }},
		{"empty list", "actions: []\n", func(a []Action) bool { return len(a) == 0 }},
		{"extension field", "x-common: &c {timeout: 3s}\nactions:\n- {<<: *c, id: a}\n", func(a []Action) bool { return a[0].Timeout.D() == 3*time.Second }},
		{"explicit key wins over merge", "x-c: &c {timeout: 3s}\nactions:\n- {timeout: 1s, <<: *c}\n", func(a []Action) bool { return a[0].Timeout.D() == time.Second }},
		{"numeric id is text", "actions:\n- id: 2024\n", func(a []Action) bool { return a[0].ID == "2024" }},
		{"batch alone means defaults", "actions:\n- id: a\n  batch:\n", func(a []Action) bool { return a[0].Batch != nil }},
		{"payload scalars are expressions", "actions:\n- payload: {n: 5, b: true, s: userId}\n", func(a []Action) bool {
			return a[0].Payload["n"] == "5" && a[0].Payload["b"] == "true" && a[0].Payload["s"] == "userId"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			actions, err := ParseYAML([]byte(tt.yaml), "f.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(actions) {
				t.Errorf("parsed %+v", actions)
			}
		})
	}
}

func TestParseJSON(t *testing.T) {
	a, err := ParseJSON([]byte(`{
  "id": "signups",
  "trigger": "type == \"track\" && event == \"Signed \ud83d\ude80 Up\"",
  "url": "https://crm.example.com/hooks/{{ userId }}",
  "payload": {"userId": "userId", "n": 5, "deep": {"plan": "properties.plan"}},
  "batch": {"size": 10, "wait": "200ms"},
  "retry": {"max_duration": "1h"},
  "enabled": false
}`))
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != "signups" || !strings.Contains(a.Trigger, "Signed 🚀 Up") || a.Batch.Size != 10 || a.Batch.Wait.D() != 200*time.Millisecond {
		t.Errorf("parsed %+v", a)
	}
	if a.Payload["n"] != "5" || a.Payload["deep"].(map[string]any)["plan"] != "properties.plan" || *a.Enabled {
		t.Errorf("parsed %+v", a)
	}
}

func TestParseJSONProblems(t *testing.T) {
	tests := []struct {
		name, json, want string
	}{
		{"unknown field", `{"id":"a","colour":"red"}`, `line 1: action "a": colour: unknown field`},
		{"unknown nested field on its line", "{\"id\":\"a\",\n\"batch\":{\n\"sise\":1}}", `line 3: action "a": batch.sise: unknown field`},
		{"wrong type", `{"id":"a","batch":{"size":"10"}}`, `batch.size: want an integer, got the string "10"`},
		{"duration as a number", `{"id":"a","timeout":10}`, `timeout: want a duration such as "200ms" or "1h", got "10"`},
		{"duplicate key", `{"id":"a","url":"https://x","url":"https://y"}`, `url: written twice`},
		{"invalid JSON", "{\"id\":\n\"a\",}", `line 2: invalid JSON`},
		{"not an object", `["a"]`, `want a JSON object, got a list`},
		{"trailing value", `{"id":"a"} {"id":"b"}`, `invalid JSON`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseJSON([]byte(tt.json))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseJSON = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// FuzzParseYAML checks that no rules file crashes parsing or compiling, and
// that every problem reported is a *FieldError.
func FuzzParseYAML(f *testing.F) {
	if data, err := os.ReadFile("testdata/rules.yaml"); err == nil {
		f.Add(data)
	}
	f.Add([]byte("actions:\n- id: a\n  trigger: properties.a.b == 1\n  url: https://x/{{ userId }}\n  payload: {a: {b: c}}\n"))
	f.Add([]byte("x-a: &a {timeout: 1s}\nactions:\n- <<: [*a, *a]\n  id: b\n"))
	f.Add([]byte("actions:\n- &x {id: a, batch: {size: 5000}}\n- *x\n"))
	f.Add([]byte("actions: [{id: a, trigger: 'repeat(\"x\", 10)', headers: {A: '${env:X}'}}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		getenv := func(string) string { return "v" }
		set, err := LoadYAML(data, "f.yaml", Options{Getenv: getenv})
		if err != nil {
			if len(FieldErrors(err)) == 0 {
				t.Fatalf("error %v holds no *FieldError", err)
			}
			return
		}
		for _, c := range set.Actions {
			if c.Enabled == nil || c.Method == "" || c.Timeout <= 0 {
				t.Fatalf("defaults not filled in: %+v", c.Action)
			}
		}
	})
}

// TestJSONRoundTrip checks that an action written with json.Marshal (as
// "rules apply" publishes it) reads back the same with ParseJSON.
func TestJSONRoundTrip(t *testing.T) {
	data, err := os.ReadFile("testdata/rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	actions, err := ParseYAML(data, "rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range actions {
		rec, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseJSON(rec)
		if err != nil {
			t.Fatalf("%s: %v\n%s", a.ID, err, rec)
		}
		again, _ := json.Marshal(back)
		if string(again) != string(rec) {
			t.Errorf("%s: round trip changed the action:\n%s\n%s", a.ID, rec, again)
		}
	}
}
