package rules

import (
	"fmt"
	"testing"

	"github.com/expr-lang/expr/vm"
)

// manyActions is the rule set of `hookstream bench --actions n`: n-1
// actions wanting a track event no event has, and one wanting Order
// Completed.
func manyActions(b *testing.B, n int) *Set {
	b.Helper()
	actions := make([]Action, 0, n)
	for i := range n - 1 {
		actions = append(actions, Action{ID: fmt.Sprintf("custom-%05d", i),
			Trigger: fmt.Sprintf(`type == "track" && event == "Custom Event %d"`, i), URL: "https://x.example.com/in"})
	}
	actions = append(actions, Action{ID: "orders", Trigger: `type == "track" && event == "Order Completed"`, URL: "https://x.example.com/in"})
	set, err := CompileAll(actions, Options{})
	if err != nil {
		b.Fatal(err)
	}
	return set
}

// BenchmarkMatchActions compares the indexed match with running every
// trigger (the baseline, measured in the same run) as actions grow.
func BenchmarkMatchActions(b *testing.B) {
	var ev Event
	if err := Decode(trackEvent, 0, &ev); err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{3, 1000, 10000} {
		set := manyActions(b, n)
		for _, way := range []struct {
			name  string
			match func(*Event, *vm.VM, []*Compiled, func(*Compiled, error)) []*Compiled
		}{{"indexed", set.Match}, {"every", set.matchEvery}} {
			b.Run(fmt.Sprintf("%s/%d", way.name, n), func(b *testing.B) {
				var v vm.VM
				dst := make([]*Compiled, 0, 8)
				b.ReportAllocs()
				for b.Loop() {
					dst = way.match(&ev, &v, dst[:0], nil)
				}
				if len(dst) != 1 {
					b.Fatalf("matched %d actions, want 1", len(dst))
				}
			})
		}
	}
}

// BenchmarkNewSet is what a rules change costs: sorting and indexing
// every action again.
func BenchmarkNewSet(b *testing.B) {
	set := manyActions(b, 10000)
	b.ReportAllocs()
	for b.Loop() {
		NewSet(set.Actions...)
	}
}
