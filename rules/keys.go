package rules

import (
	"slices"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
)

// Most triggers name the events they want by type and event (or name, for
// page and screen): `type == "track" && event == "Signed Up"`. Such a
// trigger can only be true for an event whose fields have those values, so
// a Set need not run it on any other event (index.go). This file reads, once
// when a trigger is compiled, what its top-level conjunction requires of the
// event's type, event and name.
//
// Only what certainly holds is read. The top-level conjunction is the root
// and its && (or "and") operands, through any depth of parentheses: the
// whole can only be true if every operand is, whatever their order, because
// && of a false operand is false and an operand that fails makes the
// trigger fail. Among the operands, `field == "x"`, `"x" == field` and
// `field in ["x", "y"]` (string constants only) each require the field to
// be one of those values; two on the same field require both. An ||
// requires of a field what both of its sides require of it, together
// (`event == "A" || event == "B"` is `event in ["A", "B"]`), and nothing
// when a side does not require that field. Anything else requires nothing:
// not, !=, "not in", comparisons with non-constants, $env.type, fields
// inside closures. type, event and name are string fields
// of Event (a missing one is ""), expr's type() built-in is disabled and let
// is refused, so the identifier is always the event's field and
// `event == ""` is what an event without one has.

// keyField is a field of the event that triggers are indexed by.
type keyField uint8

const (
	keyNone keyField = iota // the trigger requires nothing of type, event or name
	keyEvent
	keyName
	keyType
	numKeyFields = 3
)

// keyFields are the indexed fields by expression name, in the order a
// trigger is indexed by (the first it has a requirement on): an event name
// says more about an event than its type does.
var keyFields = [numKeyFields]string{"event", "name", "type"}

// keyValue returns the value of field f of ev.
func keyValue(ev *Event, f keyField) string {
	switch f {
	case keyEvent:
		return ev.Event
	case keyName:
		return ev.Name
	default:
		return ev.Type
	}
}

// triggerKey is what a trigger requires of one field: it can only be true
// for an event whose field is one of values. An empty values with a field
// means it is never true.
type triggerKey struct {
	field  keyField
	values []string // sorted, without repeats
}

// requirement is what a node requires of the key fields, field by field; a
// nil entry requires nothing.
type requirement [numKeyFields][]string

// keyReader computes, after ast.Walk, each node's requirement: children are
// visited before their parent, so an && node finds both of its operands'.
type keyReader struct {
	reqs map[ast.Node]*requirement
}

func (r *keyReader) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.BinaryNode:
		switch n.Operator {
		case "&&", "and":
			if req := both(r.reqs[n.Left], r.reqs[n.Right]); req != nil {
				r.reqs[n] = req
			}
		case "||", "or":
			if req := either(r.reqs[n.Left], r.reqs[n.Right]); req != nil {
				r.reqs[n] = req
			}
		case "==":
			f, v, ok := fieldEquals(n.Left, n.Right)
			if !ok {
				f, v, ok = fieldEquals(n.Right, n.Left)
			}
			if ok {
				req := &requirement{}
				req[f-1] = []string{v}
				r.reqs[n] = req
			}
		case "in":
			if f, vs, ok := fieldIn(n.Left, n.Right); ok {
				req := &requirement{}
				req[f-1] = vs
				r.reqs[n] = req
			}
		}
	}
}

// both is the requirement of a conjunction: each field's values are those
// both sides allow.
func both(a, b *requirement) *requirement {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	out := &requirement{}
	for i := range out {
		switch {
		case a[i] == nil:
			out[i] = b[i]
		case b[i] == nil:
			out[i] = a[i]
		default:
			out[i] = []string{} // not nil: nothing is allowed
			for _, v := range a[i] {
				if slices.Contains(b[i], v) {
					out[i] = append(out[i], v)
				}
			}
		}
	}
	return out
}

// either is the requirement of a disjunction: a field required by both
// sides may have the values either allows; a field one side does not
// require is not required.
func either(a, b *requirement) *requirement {
	if a == nil || b == nil {
		return nil
	}
	out := &requirement{}
	some := false
	for i := range out {
		if a[i] != nil && b[i] != nil {
			out[i] = append(slices.Clip(a[i]), b[i]...)
			some = true
		}
	}
	if !some {
		return nil
	}
	return out
}

// keyFieldOf returns the key field an identifier names, or keyNone.
func keyFieldOf(n ast.Node) keyField {
	id, ok := n.(*ast.IdentifierNode)
	if !ok {
		return keyNone
	}
	for i, name := range keyFields {
		if id.Value == name {
			return keyField(i + 1)
		}
	}
	return keyNone
}

// fieldEquals matches a key field on one side and a string constant on the
// other.
func fieldEquals(f, s ast.Node) (keyField, string, bool) {
	field := keyFieldOf(f)
	lit, ok := s.(*ast.StringNode)
	if field == keyNone || !ok {
		return keyNone, "", false
	}
	return field, lit.Value, true
}

// fieldIn matches `field in [...]` with only string constants in the list.
func fieldIn(f, list ast.Node) (keyField, []string, bool) {
	field := keyFieldOf(f)
	arr, ok := list.(*ast.ArrayNode)
	if field == keyNone || !ok {
		return keyNone, nil, false
	}
	vs := make([]string, 0, len(arr.Nodes))
	for _, n := range arr.Nodes {
		s, ok := n.(*ast.StringNode)
		if !ok {
			return keyNone, nil, false
		}
		vs = append(vs, s.Value)
	}
	return field, vs, true
}

// readKey returns what a trigger requires of the first key field it has a
// requirement on, or a key without a field. The source is parsed again
// here, without expr's patches: they rewrite these very comparisons.
func readKey(src string) triggerKey {
	tree, err := parser.Parse(src)
	if err != nil {
		return triggerKey{}
	}
	r := &keyReader{reqs: map[ast.Node]*requirement{}}
	ast.Walk(&tree.Node, r)
	req := r.reqs[tree.Node]
	if req == nil {
		return triggerKey{}
	}
	for i, vs := range req {
		if vs != nil {
			vs = slices.Clone(vs)
			slices.Sort(vs)
			return triggerKey{field: keyField(i + 1), values: slices.Compact(vs)}
		}
	}
	return triggerKey{}
}
