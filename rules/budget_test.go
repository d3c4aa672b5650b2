package rules

import (
	"errors"
	"strings"
	"testing"

	"github.com/expr-lang/expr/vm"
)

// hostileEvent carries a 2,000-element array and a 50 KB string: small
// enough that a rule without the step budget finishes (wrongly) within
// seconds, large enough that a quadratic loop over it is 4 million steps,
// four times the default budget.
func hostileEvent(t testing.TB) *Event {
	t.Helper()
	return decodeString(t, `{"type":"track","properties":{"a":[`+strings.TrimSuffix(strings.Repeat("0,", 2000), ",")+
		`],"s":"`+strings.Repeat("x", 50_000)+`","items":[{"sku":"A","tags":["new","sale"]},{"sku":"B","tags":["old"]}],"plan":"pro"}}`)
}

// TestStepBudgetStopsQuadraticLoops checks that loops whose work grows with
// the square of the event (or with the event times its own length) are
// stopped with ErrStepBudget, fast, instead of holding a partition.
func TestStepBudgetStopsQuadraticLoops(t *testing.T) {
	ev := hostileEvent(t)
	tests := []struct{ name, trigger string }{
		{"loop in a loop over the same array", `any(properties.a, {any(properties.a, {# == 1})})`},
		{"whole properties serialised per element", `any(properties.a, {toJSON(properties) == ""})`},
		{"whole event serialised per element", `any(properties.a, {toJSON($env) == ""})`},
		{"large string scanned per element", `any(properties.a, {properties.s contains "y"})`},
		{"large string copied per element", `len(map(properties.a, properties.s + "")) == 0`},
		{"array of the array, then looped", `any(map(properties.a, properties.a), {any(#, {# == 1})})`},
		{"membership in the array per element", `any(properties.a, {# + 1 in properties.a})`},
		{"three levels", `any(properties.items, {any(properties.a, {any(properties.a, {# == 1})})})`},
	}
	var v vm.VM
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustCompile(t, tt.trigger)
			ok, err := c.Match(ev, &v)
			var te *TriggerError
			if ok || !errors.As(err, &te) || !errors.Is(err, ErrStepBudget) {
				t.Fatalf("Match = %v, %v; want a *TriggerError wrapping ErrStepBudget", ok, err)
			}
		})
	}
}

// TestStepBudgetAllowsLinearWork checks that what rules are for still works
// on the same large event: loops over the element's own fields, one pass over
// a large array, whole-event functions outside loops, small reads inside.
func TestStepBudgetAllowsLinearWork(t *testing.T) {
	ev := hostileEvent(t)
	tests := []struct {
		name, trigger string
		want          bool
	}{
		{"one pass over a large array", `all(properties.a, {# == 0})`, true},
		{"nested over the element's own field", `any(properties.items, {any(.tags, {# == "old"})})`, true},
		{"small event read inside a loop", `any(properties.items, {.sku == "A" && properties.plan == "pro"})`, true},
		{"whole properties outside a loop", `len(toJSON(properties)) > 50000`, true},
		{"large string outside a loop", `properties.s contains "xy"`, false},
		{"several loops one after the other", `count(properties.a, # == 0) == 2000 && none(properties.a, # == 1) && len(filter(properties.items, "sale" in .tags)) == 1`, true},
		{"range", `all(1..1000, # > 0)`, true},
	}
	var v vm.VM
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustCompile(t, tt.trigger)
			ok, err := c.Match(ev, &v)
			if err != nil || ok != tt.want {
				t.Fatalf("Match = %v, %v; want %v", ok, err, tt.want)
			}
		})
	}
}

// TestStepBudgetIsPerEvaluation checks that the counter starts again for
// each trigger and each render: two evaluations that each use most of the
// budget both pass.
func TestStepBudgetIsPerEvaluation(t *testing.T) {
	ev := hostileEvent(t)
	a := valid()
	// 2000 outer iterations, each reading the 2 items (about 15 steps):
	// some 32,000 steps per evaluation.
	a.Trigger = `all(properties.a, {len(properties.items) == 2})`
	a.URL = "https://hooks.example.com/{{ count(properties.a, {properties.plan == \"pro\"}) }}"
	a.Payload = map[string]any{"n": `count(properties.a, {len(properties.items) == 2})`}
	c, err := Compile(a, Options{MemoryBudget: 100_000})
	if err != nil {
		t.Fatal(err)
	}
	var v vm.VM
	for i := range 3 {
		if ok, err := c.Match(ev, &v); !ok || err != nil {
			t.Fatalf("evaluation %d: Match = %v, %v", i, ok, err)
		}
	}
	url, body, err := c.Render(ev, nil, &v, nil)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	if url != "https://hooks.example.com/2000" || string(body) != `{"n":2000}` {
		t.Errorf("Render = %s %s", url, body)
	}
	// A budget too small for one evaluation stops it, in Render as a
	// mapping error (the record is dead-lettered with reason mapping).
	small, err := Compile(a, Options{MemoryBudget: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := small.Render(ev, nil, &v, nil); !IsMapping(err) || !strings.Contains(err.Error(), "step budget exceeded") {
		t.Errorf("Render with a small budget = %v, want a mapping error saying the step budget was exceeded", err)
	}
}

// TestStepBudgetNamesAreNotEventFields checks that the counter is not
// visible to rules: an expression cannot read or reset it.
func TestStepBudgetNamesAreNotEventFields(t *testing.T) {
	for _, trigger := range []string{`steps == nil`, `spent > 0`} {
		a := valid()
		a.Trigger = trigger
		if _, err := Compile(a, Options{}); err == nil || !strings.Contains(err.Error(), "unknown name") {
			t.Errorf("Compile(%s) = %v, want unknown name", trigger, err)
		}
	}
}
