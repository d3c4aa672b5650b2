package rules

import (
	"testing"

	"github.com/expr-lang/expr/vm"
)

func TestStringCompare(t *testing.T) {
	const track = `{"type":"track","event":"Signed Up","name":"","channel":"web","properties":{"type":"x"}}`
	const page = `{"type":"page","name":"Home"}`
	tests := []struct {
		trigger     string
		track, page bool
	}{
		{`type == "track"`, true, false},
		{`"track" == type`, true, false},
		{`type != "track"`, false, true},
		{`type == "track" && event == "Signed Up"`, true, false},
		{`event == "Signed Up" || name == "Home"`, true, true},
		{`type in ["page", "screen"]`, false, true},
		{`type not in ["page", "screen"]`, true, false},
		{`not (type == "page")`, true, false},
		{`name == ""`, true, false},
		{`channel == "web"`, true, false},
		{`properties.type == "x"`, true, false},
		{`type == event`, false, false},
		{`any(["a"], {type == "track"})`, true, false},
		{`type == "Track"`, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.trigger, func(t *testing.T) {
			c := mustCompile(t, tt.trigger)
			var v vm.VM
			for _, ev := range []struct {
				raw  string
				want bool
			}{{track, tt.track}, {page, tt.page}} {
				for _, decode := range []func([]byte, int, *Event) error{Decode, DecodeLazy} {
					var e Event
					if err := decode([]byte(ev.raw), 0, &e); err != nil {
						t.Fatal(err)
					}
					got, err := c.Match(&e, &v)
					if err != nil || got != ev.want {
						t.Errorf("on %s: %v, %v; want %v", ev.raw, got, err, ev.want)
					}
				}
			}
			if c.wholeEnv {
				t.Error("marked as using $env as a whole")
			}
		})
	}
}

// TestStringCompareDoesNotAllocate: comparing string fields with constants
// costs no allocation, where expr would box each field it reads.
func TestStringCompareDoesNotAllocate(t *testing.T) {
	c := mustCompile(t, `type == "track" && event in ["Signed Up", "Order Completed"] && channel != "server"`)
	ev := decodeString(t, `{"type":"track","event":"Order Completed","channel":"web"}`)
	var v vm.VM
	c.Match(ev, &v) // warm the VM up
	var ok bool
	allocs := testing.AllocsPerRun(100, func() { ok, _ = c.Match(ev, &v) })
	if allocs != 0 || !ok {
		t.Errorf("Match: %v allocations, matched %v; want 0 and true", allocs, ok)
	}
}
