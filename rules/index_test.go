package rules

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/expr-lang/expr/vm"
)

// matchBoth runs set.Match and set.matchEvery on ev and fails unless they
// return the same actions in the same order, and the triggers that failed
// under the index are among those that failed running every trigger (the
// index skips triggers that cannot match ev, so it may report fewer).
func matchBoth(t testing.TB, set *Set, ev *Event, v *vm.VM) []*Compiled {
	t.Helper()
	var errIndexed, errEvery []string
	got := set.Match(ev, v, nil, func(c *Compiled, _ error) { errIndexed = append(errIndexed, c.ID) })
	want := set.matchEvery(ev, v, nil, func(c *Compiled, _ error) { errEvery = append(errEvery, c.ID) })
	if !slices.Equal(ids(got), ids(want)) {
		t.Fatalf("event type=%q event=%q name=%q: indexed match %q, every trigger %q\ntriggers:\n%s",
			ev.Type, ev.Event, ev.Name, ids(got), ids(want), triggers(set))
	}
	for _, id := range errIndexed {
		if !slices.Contains(errEvery, id) {
			t.Fatalf("event type=%q event=%q: %s failed only under the index", ev.Type, ev.Event, id)
		}
	}
	return got
}

func ids(cs []*Compiled) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

func triggers(set *Set) string {
	var b strings.Builder
	for _, c := range set.Actions {
		fmt.Fprintf(&b, "  %s (enabled %v): %s\n", c.ID, c.enabled, c.Trigger)
	}
	return b.String()
}

// indexValues are the strings random triggers and events are made of.
var indexValues = []string{"track", "page", "screen", "identify", "A", "B", "Order Completed", ""}

// randomTrigger writes a random trigger of at most depth levels, mixing
// what the index reads with what it must leave alone.
func randomTrigger(r *rand.Rand, depth int) string {
	val := func() string { return fmt.Sprintf("%q", indexValues[r.IntN(len(indexValues))]) }
	list := func() string {
		n := r.IntN(4)
		vs := make([]string, n)
		for i := range vs {
			vs[i] = val()
		}
		return "[" + strings.Join(vs, ", ") + "]"
	}
	field := func() string { return []string{"type", "event", "name"}[r.IntN(3)] }
	if depth > 0 && r.IntN(3) > 0 {
		a, b := randomTrigger(r, depth-1), randomTrigger(r, depth-1)
		switch r.IntN(6) {
		case 0, 1:
			return a + " && " + b
		case 2:
			return "(" + a + ") and (" + b + ")"
		case 3:
			return "(" + a + " || " + b + ")"
		case 4:
			return "not (" + a + ")"
		default:
			return "(" + a + " ? " + b + " : false)"
		}
	}
	switch r.IntN(14) {
	case 0, 1, 2:
		return field() + " == " + val()
	case 3:
		return val() + " == " + field()
	case 4, 5:
		return field() + " in " + list()
	case 6:
		return field() + " != " + val()
	case 7:
		return field() + " not in " + list()
	case 8:
		return "event == name"
	case 9:
		return "properties.n > 2" // fails where n is missing or a string
	case 10:
		return `properties.plan == "pro"`
	case 11:
		return "$env.event == " + val()
	case 12:
		return `type startsWith "t"`
	default:
		return []string{"true", "false"}[r.IntN(2)]
	}
}

// randomEvent writes a random event: each of type, event and name missing
// or one of values, and properties that make some triggers fail.
func randomEvent(r *rand.Rand) string {
	var fields []string
	for _, f := range []string{"type", "event", "name"} {
		if r.IntN(5) > 0 {
			fields = append(fields, fmt.Sprintf("%q:%q", f, indexValues[r.IntN(len(indexValues))]))
		}
	}
	switch r.IntN(4) {
	case 0:
		fields = append(fields, `"properties":{"n":3,"plan":"pro"}`)
	case 1:
		fields = append(fields, `"properties":{"n":"x"}`)
	case 2:
		fields = append(fields, `"properties":{"n":1}`)
	}
	return "{" + strings.Join(fields, ",") + "}"
}

// TestIndexMatchesEveryTrigger is the differential test: for random rule
// sets and random events, the indexed match returns exactly what running
// every trigger returns, in the same order.
func TestIndexMatchesEveryTrigger(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 17))
	var v vm.VM
	matched, indexed, total := 0, 0, 0
	for round := range 300 {
		n := 1 + r.IntN(12)
		actions := make([]*Compiled, 0, n)
		for i := range n {
			a := valid()
			a.ID = fmt.Sprintf("a%02d", r.IntN(100)) + fmt.Sprint(i)
			a.Trigger = randomTrigger(r, 3)
			if r.IntN(8) == 0 {
				a.Enabled = new(false)
			}
			c, err := Compile(a, Options{})
			if err != nil {
				t.Fatalf("round %d: %s: %v", round, a.Trigger, err)
			}
			total++
			if c.key.field != keyNone {
				indexed++
			}
			actions = append(actions, c)
		}
		set := NewSet(actions...)
		for range 40 {
			matched += len(matchBoth(t, set, decodeString(t, randomEvent(r)), &v))
		}
	}
	// The test means something only if both sides were exercised.
	if matched < 1000 || indexed < total/4 || indexed > total*3/4 {
		t.Fatalf("%d matches, %d of %d triggers indexed: the random rules are too weak", matched, indexed, total)
	}
}

// TestIndexFollowsChanges checks that With and Without rebuild the index:
// a replaced trigger is indexed by its new key, a removed one is gone.
func TestIndexFollowsChanges(t *testing.T) {
	mk := func(id, trigger string) *Compiled {
		a := valid()
		a.ID, a.Trigger = id, trigger
		return compileAction(t, a)
	}
	var v vm.VM
	signup := decodeString(t, `{"type":"track","event":"Signed Up"}`)
	order := decodeString(t, `{"type":"track","event":"Order Completed"}`)
	s1 := NewSet(mk("a", `event == "Signed Up"`), mk("b", `type == "track"`), mk("c", `properties.x == nil`))
	if got := ids(matchBoth(t, s1, signup, &v)); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("signup matched %q, want a b c", got)
	}
	s2 := s1.With(mk("a", `event == "Order Completed"`))
	if got := ids(matchBoth(t, s2, signup, &v)); !slices.Equal(got, []string{"b", "c"}) {
		t.Errorf("after the change signup matched %q, want b c", got)
	}
	if got := ids(matchBoth(t, s2, order, &v)); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("after the change order matched %q, want a b c", got)
	}
	if got := ids(matchBoth(t, s1, signup, &v)); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("the old set changed: signup matched %q", got)
	}
	s3 := s2.Without("b").With(mk("d", `event == "Order Completed" && type == "track"`))
	if got := ids(matchBoth(t, s3, order, &v)); !slices.Equal(got, []string{"a", "c", "d"}) {
		t.Errorf("after removing b and adding d order matched %q, want a c d", got)
	}
	disabled := valid()
	disabled.ID, disabled.Trigger, disabled.Enabled = "a", `event == "Order Completed"`, new(false)
	s4 := s3.With(compileAction(t, disabled))
	if got := ids(matchBoth(t, s4, order, &v)); !slices.Equal(got, []string{"c", "d"}) {
		t.Errorf("a disabled action matched: %q", got)
	}
}

// TestIndexRunsOnlySelectedTriggers checks that an event does not run the
// triggers its type and event rule out: one that would fail on it is not
// counted as failed.
func TestIndexRunsOnlySelectedTriggers(t *testing.T) {
	a := valid()
	a.ID, a.Trigger = "fails", `properties.n > 2 && event == "Order Completed"`
	set := NewSet(compileAction(t, a))
	var v vm.VM
	failed := 0
	set.Match(decodeString(t, `{"type":"track","event":"Signed Up"}`), &v, nil, func(*Compiled, error) { failed++ })
	if failed != 0 {
		t.Errorf("a trigger for another event ran and failed %d times", failed)
	}
	set.Match(decodeString(t, `{"type":"track","event":"Order Completed"}`), &v, nil, func(*Compiled, error) { failed++ })
	if failed != 1 {
		t.Errorf("the selected trigger failed %d times, want 1", failed)
	}
}

// FuzzIndex is the differential test on arbitrary input: each line of
// triggers is an action's trigger (a line starting with "off:" a disabled
// one), the set is matched against event and a few fixed ones, and the
// indexed match must return what running every trigger returns. The set is
// also built again through With and Without, as the rules topic changes
// it, and must match the same.
func FuzzIndex(f *testing.F) {
	seeds := []string{
		"type == \"track\" && event == \"Signed Up\"\ntype == \"track\" && event == \"Order Completed\"\ntrue",
		"\"Order Completed\" == event\nevent == \"\"\noff:type == \"track\"",
		"type in [\"track\", \"page\"] && name == \"Home\"\nname == \"Home\" || name == \"About\"\nnot (type == \"track\")",
		"(type == \"track\" && (properties.n > 2 && event == \"A\")) && true\ntype == \"page\" and name in []",
		"event == \"A\" || properties.x == 1\ntype != \"track\"\ntype not in [\"identify\"]\n$env.type == \"track\"",
		"type == \"track\" && type == \"page\"\nevent in [\"A\", name]\nany(properties.items ?? [], {type == \"track\"})",
	}
	events := []string{
		`{"type":"track","event":"Signed Up","properties":{"n":3}}`,
		`{"type":"track","event":"Order Completed"}`,
		`{"type":"page","name":"Home"}`,
		`{"type":"identify","traits":{"plan":"pro"}}`,
		`{"event":"A","properties":{"n":"x"}}`,
		`{}`,
	}
	for i, s := range seeds {
		f.Add(s, []byte(events[i%len(events)]))
	}
	fixed := make([]*Event, len(events))
	for i, e := range events {
		fixed[i] = decodeString(f, e)
	}
	f.Fuzz(func(t *testing.T, triggers string, event []byte) {
		var actions []*Compiled
		for i, line := range strings.Split(triggers, "\n") {
			if i == 16 {
				break
			}
			a := Action{ID: fmt.Sprintf("a%02d", i), URL: "https://hooks.example.com/in", Trigger: line}
			if rest, ok := strings.CutPrefix(line, "off:"); ok {
				a.Trigger, a.Enabled = rest, new(false)
			}
			if c, err := Compile(a, Options{MemoryBudget: 20_000}); err == nil {
				actions = append(actions, c)
			}
		}
		if len(actions) == 0 {
			return
		}
		set := NewSet(actions...)
		changed := (&Set{}).With(actions[0])
		for _, c := range actions[1:] {
			changed = changed.With(c)
		}
		changed = changed.With(actions[0]).Without("missing")
		evs := fixed
		var ev Event
		if Decode(event, 1<<14, &ev) == nil {
			evs = append(slices.Clip(fixed), &ev)
		}
		var v vm.VM
		for _, e := range evs {
			got := ids(matchBoth(t, set, e, &v))
			if again := ids(matchBoth(t, changed, e, &v)); !slices.Equal(got, again) {
				t.Fatalf("a set built by With matched %q, NewSet %q", again, got)
			}
		}
	})
}
