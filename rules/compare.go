package rules

import (
	"github.com/expr-lang/expr/ast"
)

// Most triggers begin with type == "track" or event == "Signed Up". expr
// reads a struct field through reflection and boxes a string field into an
// interface to compare it: an allocation per read, several per event with a
// few actions. The patch below compiles the comparison of a string field
// with a constant (==, != and in [...]) to one call of a plain
// func(any) bool instead, which expr makes without reflection or
// allocation (OpCallTyped), and which compares the field in place.
//
// Only the plain forms are rewritten; anything else (a field compared with
// another field, a comparison inside a loop, which the step budget has
// already wrapped) is left to expr.

// stringField returns the reader of one of Event's string fields, by its
// expression name.
func stringField(name string) func(*Event) string {
	switch name {
	case "type":
		return func(ev *Event) string { return ev.Type }
	case "event":
		return func(ev *Event) string { return ev.Event }
	case "name":
		return func(ev *Event) string { return ev.Name }
	case "messageId":
		return func(ev *Event) string { return ev.MessageID }
	case "timestamp":
		return func(ev *Event) string { return ev.Timestamp }
	case "originalTimestamp":
		return func(ev *Event) string { return ev.OriginalTimestamp }
	case "sentAt":
		return func(ev *Event) string { return ev.SentAt }
	case "receivedAt":
		return func(ev *Event) string { return ev.ReceivedAt }
	case "channel":
		return func(ev *Event) string { return ev.Channel }
	}
	return nil
}

// stringCompare is the patch.
type stringCompare struct{}

func (stringCompare) Visit(node *ast.Node) {
	b, ok := (*node).(*ast.BinaryNode)
	if !ok {
		return
	}
	var test func(env any) bool
	switch b.Operator {
	case "==", "!=":
		field, lit, ok := fieldAndString(b.Left, b.Right)
		if !ok {
			field, lit, ok = fieldAndString(b.Right, b.Left)
		}
		if !ok {
			return
		}
		want := b.Operator == "=="
		test = func(env any) bool {
			ev, ok := env.(*Event)
			return ok && (field(ev) == lit) == want
		}
	case "in", "not in":
		id, ok := b.Left.(*ast.IdentifierNode)
		arr, isArr := b.Right.(*ast.ArrayNode)
		if !ok || !isArr || stringField(id.Value) == nil {
			return
		}
		field := stringField(id.Value)
		set := make(map[string]bool, len(arr.Nodes))
		for _, n := range arr.Nodes {
			s, ok := n.(*ast.StringNode)
			if !ok {
				return
			}
			set[s.Value] = true
		}
		want := b.Operator == "in"
		test = func(env any) bool {
			ev, ok := env.(*Event)
			return ok && set[field(ev)] == want
		}
	default:
		return
	}
	ast.Patch(node, &ast.CallNode{
		Callee:    &ast.ConstantNode{Value: test},
		Arguments: []ast.Node{&ast.IdentifierNode{Value: "$env"}},
	})
}

// fieldAndString matches a string field of the event on one side and a
// string constant on the other.
func fieldAndString(f, s ast.Node) (func(*Event) string, string, bool) {
	id, ok := f.(*ast.IdentifierNode)
	if !ok {
		return nil, "", false
	}
	lit, ok := s.(*ast.StringNode)
	if !ok {
		return nil, "", false
	}
	read := stringField(id.Value)
	return read, lit.Value, read != nil
}
