package rules

import (
	"errors"
	"fmt"
	"reflect"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
)

// expr's memory budget counts what an evaluation builds (ranges, arrays,
// maps), but not the work done in loops over what it reads: with one
// hostile event carrying a 500,000-element array,
// any(properties.a, {any(properties.a, {# == 1})}) runs 2.5e11 steps, and
// any(properties.a, {toJSON(properties) == ""}) serialises the whole event
// once per element. Both would hold a partition for hours.
//
// So loops are charged, per evaluation, against a step budget of the same
// size as the memory budget. A patch rewrites each compiled expression:
//
//   - the collection of every predicate (any, all, filter, map, count, ...)
//     becomes __loop($env, collection), which charges one step per element:
//     the iterations about to run;
//   - inside a predicate's body, every value read from the event (a chain
//     such as properties.s or traits, not the element #) becomes
//     __cost($env, value), which charges the value's size, since whatever
//     the body does with it may cost as much on every iteration.
//
// Outside loops nothing is charged: there each node runs once, and an
// expression has at most MaxExprNodes of them. The counters live in the
// Event the expression runs on (one per goroutine, like the VM), and are
// reset by Match and Render before each evaluation. When the budget runs
// out the evaluation stops with ErrStepBudget: a trigger does not match and
// is counted, a URL or payload is a mapping failure.
const (
	loopFunc = "__loop"
	costFunc = "__cost"
)

// ErrStepBudget stops an evaluation whose loops did more work than its
// budget allows.
var ErrStepBudget = errors.New("step budget exceeded: the loops of this expression did too much work on this event")

// steps is the per-evaluation step counter kept in an Event.
type steps struct {
	spent, budget uint
}

// reset starts a new evaluation with budget steps.
func (s *steps) reset(budget uint) { s.spent, s.budget = 0, budget }

// charge spends n steps, failing when the budget is exceeded. An Event that
// was never reset (budget 0) is given DefaultMemoryBudget.
func (s *steps) charge(n uint) error {
	if s.budget == 0 {
		s.budget = DefaultMemoryBudget
	}
	s.spent += n
	if s.spent > s.budget {
		return fmt.Errorf("%w (more than %d steps)", ErrStepBudget, s.budget)
	}
	return nil
}

// budgetFuncs are the expr functions the patch calls.
func budgetFuncs() []expr.Option {
	return []expr.Option{
		expr.Function(loopFunc, func(params ...any) (any, error) {
			return params[1], chargeEvent(params[0], uint(length(params[1])))
		}, new(func(any, any) any)),
		expr.Function(costFunc, func(params ...any) (any, error) {
			ev, ok := params[0].(*Event)
			if !ok {
				return params[1], nil
			}
			left := uint(0)
			if ev.steps.budget > ev.steps.spent {
				left = ev.steps.budget - ev.steps.spent
			}
			return params[1], ev.steps.charge(size(params[1], left+1))
		}, new(func(any, any) any)),
	}
}

func chargeEvent(env any, n uint) error {
	if ev, ok := env.(*Event); ok {
		return ev.steps.charge(n)
	}
	return nil // a value environment (not how hookstream runs): nothing to count in
}

// length is the number of iterations a predicate will make over v.
func length(v any) int {
	switch x := v.(type) {
	case []any:
		return len(x)
	case map[string]any:
		return len(x)
	case nil:
		return 0
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array, reflect.Map, reflect.String:
		return rv.Len()
	}
	return 1
}

// size estimates the work of using v once: one step per value, plus one
// per 16 bytes of string. It stops counting past limit, so measuring a
// large value costs no more than the budget it is about to exhaust.
func size(v any, limit uint) uint {
	switch x := v.(type) {
	case *Event: // $env itself: what toJSON($env) would write
		n := uint(16)
		for _, m := range []map[string]any{x.Properties, x.Traits, x.Context, x.Integrations} {
			if n += size(m, limit-min(n, limit)); n > limit {
				break
			}
		}
		return n
	case string:
		return 1 + uint(len(x))/16
	case []any:
		n := uint(1)
		for _, e := range x {
			if n += size(e, limit-min(n, limit)); n > limit {
				break
			}
		}
		return n
	case map[string]any:
		n := uint(1)
		for k, e := range x {
			if n += 1 + uint(len(k))/16 + size(e, limit-min(n, limit)); n > limit {
				break
			}
		}
		return n
	}
	return 1
}

// loopBudget is the patch described above. It runs after nilSafe, on the
// tree expr has already wrapped in ChainNodes. expr visits children first,
// so an inner predicate is patched before the one around it; a body already
// charged is not charged again.
type loopBudget struct{}

func (loopBudget) Visit(node *ast.Node) {
	b, ok := (*node).(*ast.BuiltinNode)
	if !ok || len(b.Arguments) < 2 {
		return
	}
	loops := false
	for i := 1; i < len(b.Arguments); i++ {
		if p, ok := b.Arguments[i].(*ast.PredicateNode); ok {
			loops = true
			chargeReads(&p.Node)
		}
	}
	if loops && !isCall(b.Arguments[0], loopFunc) {
		b.Arguments[0] = budgetCall(loopFunc, b.Arguments[0])
	}
}

// chargeReads wraps each maximal chain read from the environment under n in
// a __cost call. Chains rooted at the element (#, .field) are left alone:
// summed over a loop they are no larger than the collection.
func chargeReads(n *ast.Node) {
	switch x := (*n).(type) {
	case nil:
		return
	case *ast.CallNode:
		if isCall(x, costFunc) {
			return
		}
		if isCall(x, loopFunc) {
			chargeReads(&x.Arguments[1])
			return
		}
		for i := range x.Arguments {
			chargeReads(&x.Arguments[i])
		}
		return
	case *ast.IdentifierNode, *ast.ChainNode, *ast.MemberNode, *ast.SliceNode:
		if rootIsEnv(x) {
			*n = budgetCall(costFunc, x)
			return
		}
	}
	forChildren(*n, chargeReads)
}

// rootIsEnv reports whether a chain of member accesses starts at an
// identifier (an event field or $env) rather than at a predicate's element.
func rootIsEnv(n ast.Node) bool {
	for {
		switch x := n.(type) {
		case *ast.IdentifierNode:
			return true
		case *ast.ChainNode:
			n = x.Node
		case *ast.MemberNode:
			n = x.Node
		case *ast.SliceNode:
			n = x.Node
		default:
			return false
		}
	}
}

// forChildren calls f on each child of n, in the order ast.Walk visits them.
func forChildren(n ast.Node, f func(*ast.Node)) {
	switch x := n.(type) {
	case *ast.UnaryNode:
		f(&x.Node)
	case *ast.BinaryNode:
		f(&x.Left)
		f(&x.Right)
	case *ast.ChainNode:
		f(&x.Node)
	case *ast.MemberNode:
		f(&x.Node)
		f(&x.Property)
	case *ast.SliceNode:
		f(&x.Node)
		if x.From != nil {
			f(&x.From)
		}
		if x.To != nil {
			f(&x.To)
		}
	case *ast.CallNode:
		f(&x.Callee)
		for i := range x.Arguments {
			f(&x.Arguments[i])
		}
	case *ast.BuiltinNode:
		for i := range x.Arguments {
			f(&x.Arguments[i])
		}
	case *ast.PredicateNode:
		f(&x.Node)
	case *ast.VariableDeclaratorNode:
		f(&x.Value)
		f(&x.Expr)
	case *ast.SequenceNode:
		for i := range x.Nodes {
			f(&x.Nodes[i])
		}
	case *ast.ConditionalNode:
		f(&x.Cond)
		f(&x.Exp1)
		f(&x.Exp2)
	case *ast.ArrayNode:
		for i := range x.Nodes {
			f(&x.Nodes[i])
		}
	case *ast.MapNode:
		for i := range x.Pairs {
			f(&x.Pairs[i])
		}
	case *ast.PairNode:
		f(&x.Key)
		f(&x.Value)
	}
}

// budgetCall returns fn($env, arg), located where arg is.
func budgetCall(fn string, arg ast.Node) ast.Node {
	env := &ast.IdentifierNode{Value: "$env"}
	env.SetLocation(arg.Location())
	callee := &ast.IdentifierNode{Value: fn}
	callee.SetLocation(arg.Location())
	call := &ast.CallNode{Callee: callee, Arguments: []ast.Node{env, arg}}
	call.SetLocation(arg.Location())
	return call
}

func isCall(n ast.Node, fn string) bool {
	c, ok := n.(*ast.CallNode)
	if !ok {
		return false
	}
	id, ok := c.Callee.(*ast.IdentifierNode)
	return ok && id.Value == fn && len(c.Arguments) == 2
}
