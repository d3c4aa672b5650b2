package rules

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/expr-lang/expr/vm"
)

// FuzzTrigger compiles arbitrary expressions as a trigger and as a payload
// leaf, and runs the accepted ones on arbitrary events. Rules come from
// whoever can write to the rules topic: compiling must refuse or accept
// without a panic, and running must end in a result or a counted error,
// within the memory and step budgets (a small budget here keeps each run
// short).
func FuzzTrigger(f *testing.F) {
	events := readEvents(f)
	seeds := []string{
		`type == "track" && event == "Signed Up"`,
		`type == "identify" && traits.plan in ["enterprise", "business"]`,
		`type == "page" && name != "" && !(context.page?.path startsWith "/admin")`,
		`any(properties.products, {.price > 10}) && len(properties.products) < 100`,
		`any(properties.products, {any(properties.products, {# == nil})})`,
		`count(1..1000000, # > 0) > 0`,
		`repeat("x", 1000000000) != ""`,
		`let a = "x"; a + a != ""`,
		`reduce(1..10, #acc + #, 0) > 1`,
		`toJSON($env) contains "x"`,
		`(properties.total ?? 0) * 1e308 > 0`,
		`properties.products[9999999999].sku == nil`,
		`upper(properties.missing.deep.x) == ""`,
		strings.Repeat("(", 200) + "true" + strings.Repeat(")", 200),
		strings.Repeat("!", 600) + "true",
		`sortBy(properties.products ?? [], .price)[0].sku == "x"`,
		`$env["properties"]?.total > 1`,
	}
	for i, s := range seeds {
		f.Add(s, events["track"])
		f.Add(s, []byte(hostileEvents[i%len(hostileEvents)]))
	}
	f.Fuzz(func(t *testing.T, src string, raw []byte) {
		var ev Event
		if Decode(raw, 1<<14, &ev) != nil {
			return
		}
		opt := Options{MemoryBudget: 20_000}
		var v vm.VM
		trigger := Action{ID: "t", Trigger: src, URL: "https://hooks.example.com/in"}
		if c, err := Compile(trigger, opt); err != nil {
			if len(FieldErrors(err)) == 0 {
				t.Fatalf("Compile(%q) = %v, not field errors", src, err)
			}
		} else if _, err := c.Match(&ev, &v); err != nil {
			if _, ok := err.(*TriggerError); !ok {
				t.Fatalf("Match error %v is not a *TriggerError", err)
			}
		}
		leaf := Action{ID: "p", Trigger: "true", URL: "https://hooks.example.com/in", Payload: map[string]any{"v": src}}
		c, err := Compile(leaf, opt)
		if err != nil {
			return
		}
		_, body, err := c.Render(&ev, raw, &v, nil)
		if err != nil {
			if !IsMapping(err) {
				t.Fatalf("Render error %v is not a *MappingError", err)
			}
			return
		}
		if !json.Valid(body) {
			t.Fatalf("payload %q is not JSON", body)
		}
	})
}
