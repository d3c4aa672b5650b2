package rules

import (
	"slices"
	"testing"
)

func TestReadKey(t *testing.T) {
	tests := []struct {
		name    string
		trigger string
		field   keyField
		values  []string
	}{
		{"type and event: event wins", `type == "track" && event == "Signed Up"`, keyEvent, []string{"Signed Up"}},
		{"reversed operands", `"Signed Up" == event`, keyEvent, []string{"Signed Up"}},
		{"type alone", `type == "identify"`, keyType, []string{"identify"}},
		{"type in a list", `type in ["track", "page", "track"]`, keyType, []string{"page", "track"}},
		{"name of a page", `type == "page" && name == "Home"`, keyName, []string{"Home"}},
		{"and keyword", `type == "track" and properties.plan == "pro"`, keyType, []string{"track"}},
		{"parenthesised conjunction", `(type == "track" && (properties.x > 1 && event == "A")) && true`, keyEvent, []string{"A"}},
		{"requirement anywhere in the conjunction", `properties.total > 10 && event == "Order Completed"`, keyEvent, []string{"Order Completed"}},
		{"missing event is the empty string", `event == ""`, keyEvent, []string{""}},
		{"two lists intersect", `event in ["A", "B"] && event in ["B", "C"]`, keyEvent, []string{"B"}},
		{"contradiction never matches", `type == "track" && type == "page"`, keyType, []string{}},
		{"empty list never matches", `type in []`, keyType, []string{}},
		{"or of one field", `event == "B" || event == "A" or event in ["A"]`, keyEvent, []string{"A", "B"}},
		{"or inside a conjunction", `type == "track" && (event == "A" || event == "B")`, keyEvent, []string{"A", "B"}},
		{"or keeps what both sides require", `(type == "track" && event == "A") || type == "page"`, keyType, []string{"page", "track"}},
		{"or with an unindexed side", `event == "A" || properties.x == 1`, keyNone, nil},
		{"or of different fields", `event == "A" || name == "B"`, keyNone, nil},
		{"not is not indexed", `not (type == "track")`, keyNone, nil},
		{"bang is not indexed", `!(event == "A")`, keyNone, nil},
		{"not equal is not indexed", `type != "track"`, keyNone, nil},
		{"not in is not indexed", `type not in ["track"]`, keyNone, nil},
		{"list with a non-constant", `event in ["A", name]`, keyNone, nil},
		{"list with a number", `type in ["track", 1]`, keyNone, nil},
		{"field against field", `event == name`, keyNone, nil},
		{"concatenation is not a constant", `event == "A" + "B"`, keyNone, nil},
		{"env member is not indexed", `$env.type == "track"`, keyNone, nil},
		{"member of an object is not the field", `properties.type == "track"`, keyNone, nil},
		{"inside a closure", `any(properties.items, {type == "track"})`, keyNone, nil},
		{"ternary", `type == "track" ? true : false`, keyNone, nil},
		{"other string field", `channel == "web"`, keyNone, nil},
		{"constant", `true`, keyNone, nil},
		{"does not parse", `type ==`, keyNone, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := readKey(tt.trigger)
			if k.field != tt.field {
				t.Fatalf("readKey(%q) field %d, want %d", tt.trigger, k.field, tt.field)
			}
			if k.field != keyNone && !slices.Equal(k.values, tt.values) {
				t.Errorf("readKey(%q) values %q, want %q", tt.trigger, k.values, tt.values)
			}
		})
	}
}

// TestCompileReadsKey checks that compiling an action keeps its trigger's
// key, so that a Set indexes it without parsing again.
func TestCompileReadsKey(t *testing.T) {
	c := mustCompile(t, `type == "track" && event == "Signed Up"`)
	if c.key.field != keyEvent || !slices.Equal(c.key.values, []string{"Signed Up"}) {
		t.Fatalf("key %+v, want event Signed Up", c.key)
	}
}
