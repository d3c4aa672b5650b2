package topic

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/hookstream/hookstream/rules"
)

func TestReadLatestValuePerKey(t *testing.T) {
	tc := newCluster(t)
	tc.createTopic(t, "rules", 3, "compact")
	tc.put(t, "rules",
		"a", actionJSON("a", "v1"),
		"b", actionJSON("b", "v1"),
		"a", actionJSON("a", "v2"),
		"b", nil, // deleted
		"c", "not checked by Read",
	)
	got, err := Read(ctxT(t), tc.Opts(), "rules")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a": actionJSON("a", "v2"), "c": "not checked by Read"}
	if len(got) != len(want) {
		t.Fatalf("Read = %q, want %q", got, want)
	}
	for k, v := range want {
		if string(got[k]) != v {
			t.Errorf("Read[%s] = %s, want %s", k, got[k], v)
		}
	}
}

func TestReadEmptyAndMissing(t *testing.T) {
	tc := newCluster(t)
	tc.createTopic(t, "empty", 2, "compact")
	got, err := Read(ctxT(t), tc.Opts(), "empty")
	if err != nil || len(got) != 0 {
		t.Errorf("Read(empty topic) = %q, %v; want nothing", got, err)
	}
	if _, err := Read(ctxT(t), tc.Opts(), "missing"); !errors.Is(err, ErrNoTopic) {
		t.Errorf("Read(missing topic) = %v, want ErrNoTopic", err)
	}
}

func TestCanonicalKeepsEnvReferencesAndRoundTrips(t *testing.T) {
	actions, err := rules.ParseYAML([]byte(`actions:
- id: crm
  trigger: type == "track" && properties.total > 1 && event != "<x>"
  url: https://crm.example.com/hooks/{{ userId }}
  headers: {Authorization: "Bearer ${env:CRM_TOKEN}"}
  secret_env: CRM_SECRET
  payload: {user: userId, nested: {plan: properties.plan}}
  batch: {}
  retry: {max_duration: 30m}
  enabled: false
`), "rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	b, err := Canonical(actions[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`"Bearer ${env:CRM_TOKEN}"`, `"secret_env":"CRM_SECRET"`, `&& properties.total > 1`, `\"<x>\"`, `"batch":{}`, `"max_duration":"30m0s"`, `"enabled":false`} {
		if !bytes.Contains(b, []byte(s)) {
			t.Errorf("canonical form lacks %s: %s", s, b)
		}
	}
	if bytes.ContainsAny(b, "\n") {
		t.Errorf("canonical form is not one line: %s", b)
	}
	back, err := rules.ParseJSON(b)
	if err != nil {
		t.Fatalf("canonical form does not parse: %v", err)
	}
	if again, _ := Canonical(back); !bytes.Equal(again, b) {
		t.Errorf("round trip changed the action:\n%s\n%s", b, again)
	}
}

func TestDiff(t *testing.T) {
	file := []rules.Action{
		{ID: "same", Trigger: "true", URL: "https://h.example.com/same"},
		{ID: "new", Trigger: "true", URL: "https://h.example.com/new"},
		{ID: "edited", Trigger: "true", URL: "https://h.example.com/edited/v2"},
		{ID: "was-broken", Trigger: "true", URL: "https://h.example.com/fixed"},
	}
	// "same" is on the topic as another tool formatted it.
	current := map[string][]byte{
		"same":       []byte("{\n  \"url\": \"https://h.example.com/same\", \"trigger\": \"true\", \"id\": \"same\"\n}"),
		"edited":     []byte(`{"id":"edited","trigger":"true","url":"https://h.example.com/edited/v1"}`),
		"was-broken": []byte(`{"id":`),
		"gone":       []byte(`{"id":"gone","trigger":"true","url":"https://h.example.com/gone"}`),
	}
	tests := []struct {
		name          string
		prune         bool
		removed, kept []string
		records       []string // key=value, tombstones as key=nil
	}{
		{"keep", false, nil, []string{"gone"}, []string{"new", "edited", "was-broken"}},
		{"prune", true, []string{"gone"}, nil, []string{"new", "edited", "was-broken", "gone=nil"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Diff("rules", current, file, tt.prune)
			if err != nil {
				t.Fatal(err)
			}
			check := func(what string, got, want []string) {
				t.Helper()
				if !slices.Equal(got, want) {
					t.Errorf("%s = %q, want %q", what, got, want)
				}
			}
			check("added", p.Added, []string{"new"})
			check("changed", p.Changed, []string{"edited", "was-broken"})
			check("unchanged", p.Unchanged, []string{"same"})
			check("removed", p.Removed, tt.removed)
			check("kept", p.Kept, tt.kept)
			var recs []string
			for _, r := range p.Records {
				if r.Topic != "rules" {
					t.Errorf("record for topic %q", r.Topic)
				}
				switch {
				case r.Value == nil:
					recs = append(recs, string(r.Key)+"=nil")
				case strings.Contains(string(r.Value), `"id":"`+string(r.Key)+`"`):
					recs = append(recs, string(r.Key))
				default:
					t.Errorf("record %s holds %s", r.Key, r.Value)
				}
			}
			check("records", recs, tt.records)
		})
	}
}
