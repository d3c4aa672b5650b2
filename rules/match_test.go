package rules

import (
	"errors"
	"strings"
	"testing"

	"github.com/expr-lang/expr/vm"
)

// mustCompile compiles a trigger-only action.
func mustCompile(t testing.TB, trigger string) *Compiled {
	t.Helper()
	a := valid()
	a.Trigger = trigger
	c, err := Compile(a, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func decodeString(t testing.TB, s string) *Event {
	t.Helper()
	var ev Event
	if err := Decode([]byte(s), 0, &ev); err != nil {
		t.Fatal(err)
	}
	return &ev
}

func TestMatch(t *testing.T) {
	const track = `{"type":"track","event":"Signed Up","userId":"u1","properties":{"plan":"pro","seats":12,"tags":["a","b"],"nested":{"deep":{"x":1}}},"traits":{"email":"ada@example.com"},"context":{"ip":"10.0.0.7"}}`
	const bare = `{"type":"identify"}`
	tests := []struct {
		name      string
		trigger   string
		event     string
		want      bool
		wantError bool
	}{
		{"type field, not the builtin", `type == "track"`, track, true, false},
		{"type and event", `type == "track" && event == "Signed Up"`, track, true, false},
		{"properties member", `properties.plan == "pro"`, track, true, false},
		{"traits member", `traits.email endsWith "@example.com"`, track, true, false},
		{"context member", `context.ip startsWith "10."`, track, true, false},
		{"nested member", `properties.nested.deep.x == 1`, track, true, false},
		{"numbers are float64", `properties.seats > 10`, track, true, false},
		{"in array", `"b" in properties.tags`, track, true, false},
		{"missing properties is nil", `properties.plan == nil`, bare, true, false},
		{"member of nil is nil", `properties.a.b.c == nil`, bare, true, false},
		{"index of nil is nil", `properties.items[0].sku == nil`, bare, true, false},
		{"bracket access of nil is nil", `properties["a"]["b"] == nil`, bare, true, false},
		{"explicit ?. still works", `properties?.a?.b == nil`, bare, true, false},
		{"missing member compares false", `properties.plan == "pro"`, bare, false, false},
		{"nil coalescing", `(properties.seats ?? 0) > 10`, bare, false, false},
		{"missing top-level field", `userId == nil && event == ""`, bare, true, false},
		{"nil in an ordering is a run-time error", `properties.seats > 10`, bare, false, true},
		{"member of a string is a run-time error", `properties.plan.name == nil`, track, false, true},
		{"non-bool result", `properties.plan`, track, false, true},
		{"nil result does not match", `properties.missing`, track, false, false},
		{"run-time memory budget", `len(1..10000000) > 0`, track, false, true},
	}
	var v vm.VM
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustCompile(t, tt.trigger)
			got, err := c.Match(decodeString(t, tt.event), &v)
			if (err != nil) != tt.wantError {
				t.Fatalf("Match error = %v, want error %v", err, tt.wantError)
			}
			if got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
			var te *TriggerError
			if err != nil && (!errors.As(err, &te) || te.Action != "a" || strings.Contains(err.Error(), "\n")) {
				t.Errorf("error %q is not a one-line *TriggerError", err)
			}
		})
	}
}

func TestMatchDisabled(t *testing.T) {
	a := valid()
	off := false
	a.Enabled = &off
	c, err := Compile(a, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var v vm.VM
	if ok, err := c.Match(decodeString(t, `{"type":"track"}`), &v); ok || err != nil {
		t.Errorf("disabled action: Match = %v, %v", ok, err)
	}
}

func TestExprLimits(t *testing.T) {
	tests := []struct {
		name, trigger, want string
	}{
		{"repeat refused", `repeat("x", 1000000000) != ""`, "repeat() is not allowed in rules"},
		{"nested repeat refused", `repeat(repeat("x", 999999), 1000000) != ""`, "repeat() is not allowed in rules"},
		{"reduce refused", `reduce(1..100, #acc + #acc, "x") != ""`, "reduce() is not allowed in rules"},
		{"let refused", `let a = "x" + "x"; let b = a + a; b != ""`, "let is not allowed in rules"},
		{"too many nodes", strings.Repeat("1 + ", 600) + "1 > 0", "compilation failed: expression exceeds maximum allowed nodes"},
		{"too long", `type == "` + strings.Repeat("x", MaxExprBytes) + `"`, "over the limit of 4096"},
		{"deep nesting", strings.Repeat("(", 3000) + "true" + strings.Repeat(")", 3000), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := valid()
			a.Trigger = tt.trigger
			_, err := Compile(a, Options{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Compile = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestMemoryBudgetStopsRunaway checks that allocations expr counts are stopped
// at run time rather than exhausting memory.
func TestMemoryBudgetStopsRunaway(t *testing.T) {
	ev := decodeString(t, `{"type":"track","properties":{"items":[1,2,3]}}`)
	var v vm.VM
	for _, trigger := range []string{
		`len(1..100000000) > 0`,
		`len(map(1..100000, map(1..100000, #))) > 0`,
		`len(toJSON(map(1..100000000, "x"))) > 0`,
	} {
		c := mustCompile(t, trigger)
		ok, err := c.Match(ev, &v)
		if ok || err == nil || !strings.Contains(err.Error(), "memory budget exceeded") {
			t.Errorf("%s: Match = %v, %v; want a memory budget error", trigger, ok, err)
		}
	}
	a := valid()
	a.Trigger = `len(1..5000) > 0`
	c, err := Compile(a, Options{MemoryBudget: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Match(ev, &v); err == nil {
		t.Error("Options.MemoryBudget not applied")
	}
}

func TestSetMatch(t *testing.T) {
	off := false
	mk := func(id, trigger string, enabled bool) Action {
		a := valid()
		a.ID, a.Trigger = id, trigger
		if !enabled {
			a.Enabled = &off
		}
		return a
	}
	set, err := CompileAll([]Action{
		mk("c-tracks", `type == "track"`, true),
		mk("a-all", `true`, true),
		mk("b-off", `true`, false),
		mk("d-broken", `properties.n > 1`, true),
		mk("e-pages", `type == "page"`, true),
	}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var failed []string
	onErr := func(c *Compiled, err error) { failed = append(failed, c.ID) }
	var v vm.VM
	got := set.Match(decodeString(t, `{"type":"track"}`), &v, nil, onErr)
	var ids []string
	for _, c := range got {
		ids = append(ids, c.ID)
	}
	if strings.Join(ids, ",") != "a-all,c-tracks" {
		t.Errorf("matched %v, want a-all,c-tracks", ids)
	}
	if strings.Join(failed, ",") != "d-broken" {
		t.Errorf("failed %v, want d-broken", failed)
	}
	// nil onErr is allowed.
	set.Match(decodeString(t, `{"type":"track"}`), &v, nil, nil)
}

func TestSetMatchDoesNotAllocate(t *testing.T) {
	set, err := CompileAll([]Action{
		{ID: "a", Trigger: `true`, URL: "https://x.example.com/"},
		{ID: "b", Trigger: `userId != nil && properties != nil`, URL: "https://x.example.com/"},
	}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ev := decodeString(t, `{"type":"track","userId":"u","properties":{}}`)
	var v vm.VM
	dst := make([]*Compiled, 0, 4)
	set.Match(ev, &v, dst, nil) // warm the VM up
	allocs := testing.AllocsPerRun(100, func() {
		dst = set.Match(ev, &v, dst[:0], nil)
	})
	if allocs != 0 || len(dst) != 2 {
		t.Errorf("Set.Match: %v allocations, %d matches; want 0 and 2", allocs, len(dst))
	}
}
