package examples

import (
	"testing"

	"github.com/expr-lang/expr/vm"
	"github.com/hookstream/hookstream/rules"
)

func TestSampleRulesCompileAndMatchTheSampleEvent(t *testing.T) {
	env := map[string]string{"DEV_WEBHOOK_SECRET": "s", "DEV_CRM_TOKEN": "t"}
	set, err := rules.LoadYAML(Rules(), "rules.yaml", rules.Options{Getenv: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatalf("examples/rules.yaml: %v", err)
	}
	if len(set.Actions) != 3 {
		t.Fatalf("%d actions, want 3", len(set.Actions))
	}
	var ev rules.Event
	if err := rules.Decode(Event(), 1<<20, &ev); err != nil {
		t.Fatalf("examples/event.json: %v", err)
	}
	var machine vm.VM
	want := map[string]bool{"identify-to-crm": true, "track-to-warehouse": false, "pageviews-by-user": false}
	for _, a := range set.Actions {
		if len(a.Secrets) == 0 {
			t.Errorf("action %s is not signed", a.ID)
		}
		got, err := a.Match(&ev, &machine)
		if err != nil {
			t.Errorf("action %s: trigger: %v", a.ID, err)
		}
		if got != want[a.ID] {
			t.Errorf("action %s matches the sample event: %v, want %v", a.ID, got, want[a.ID])
		}
	}
}
