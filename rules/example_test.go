package rules_test

import (
	"fmt"

	"github.com/expr-lang/expr/vm"
	"github.com/hookstream/hookstream/rules"
)

// Compile an action once, then match and render events with a reused VM.
func ExampleCompile() {
	c, err := rules.Compile(rules.Action{
		ID:      "signups-to-crm",
		Trigger: `type == "track" && event == "Signed Up"`,
		URL:     "https://crm.example.com/hooks/{{ userId }}",
		Payload: map[string]any{"user": "userId", "plan": "properties.plan"},
	}, rules.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	raw := []byte(`{"type":"track","event":"Signed Up","userId":"ada lovelace","properties":{"plan":"pro"}}`)
	var ev rules.Event
	if err := rules.Decode(raw, 0, &ev); err != nil {
		fmt.Println(err)
		return
	}
	var v vm.VM // one per goroutine
	ok, _ := c.Match(&ev, &v)
	url, body, _ := c.Render(&ev, raw, &v, nil)
	fmt.Println(ok, c.Method, c.Timeout)
	fmt.Println(url)
	fmt.Println(string(body))
	// Output:
	// true POST 10s
	// https://crm.example.com/hooks/ada%20lovelace
	// {"plan":"pro","user":"ada lovelace"}
}

// Every problem is reported at once, each naming the action, the field and
// the line.
func ExampleLoadYAML() {
	file := []byte(`actions:
- id: signups
  trigger: type == "track" && event == "Signed Up"
  url: https://crm.example.com/hooks
  batch:
    size: 5000
  tigger: oops
- id: pages
  trigger: type == 1
  url: ftp://example.com/
`)
	_, err := rules.LoadYAML(file, "rules.yaml", rules.Options{})
	fmt.Println(err)
	// Output:
	// rules.yaml:6: action "signups": batch.size 5000: want 1..1000
	// rules.yaml:7: action "signups": tigger: unknown field
	// rules.yaml:9: action "pages": trigger: invalid operation: == (mismatched types string and int) (column 6)
	// rules.yaml:10: action "pages": url: want an http or https URL
}

// Member access on a missing field is nil, not an error.
func ExampleCompiled_Match() {
	c, _ := rules.Compile(rules.Action{
		ID:      "pro-users",
		Trigger: `properties.plan.tier == nil && (traits.seats ?? 0) < 5`,
		URL:     "https://example.com/hook",
	}, rules.Options{})
	var ev rules.Event
	_ = rules.Decode([]byte(`{"type":"identify"}`), 0, &ev)
	var v vm.VM
	fmt.Println(c.Match(&ev, &v))
	// Output: true <nil>
}

// A poison record says why, with the dead-letter reason.
func ExampleDecode() {
	var ev rules.Event
	err := rules.Decode([]byte(`{"type":"track","properties":"pro"}`), 0, &ev)
	fmt.Println(err)
	// Output: decode: field "properties": want an object, got string
}

// Set.Match appends every enabled action that matches, without allocating
// when dst has room.
func ExampleSet_Match() {
	set, _ := rules.CompileAll([]rules.Action{
		{ID: "tracks", Trigger: `type == "track"`, URL: "https://a.example.com/"},
		{ID: "pages", Trigger: `type == "page"`, URL: "https://b.example.com/"},
		{ID: "everything", Trigger: `true`, URL: "https://c.example.com/"},
	}, rules.Options{})
	var ev rules.Event
	_ = rules.Decode([]byte(`{"type":"track"}`), 0, &ev)
	var v vm.VM
	dst := make([]*rules.Compiled, 0, 8)
	for _, c := range set.Match(&ev, &v, dst, nil) {
		fmt.Println(c.ID)
	}
	// Output:
	// everything
	// tracks
}
