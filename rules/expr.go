package rules

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
)

// Limits on expressions. They are checked when a rule is compiled, never per
// event.
const (
	// MaxExprBytes is the longest expression source accepted.
	MaxExprBytes = 4096
	// MaxExprNodes bounds the size of an expression's syntax tree
	// (expr.MaxNodes); the parser stops counting as soon as it is reached.
	MaxExprNodes = 500
	// DefaultMemoryBudget is the expr VM's memory budget for one evaluation
	// (vm.VM.MemoryBudget, in expr's units: elements of ranges, arrays and
	// maps built, bytes of strings built by size-checked built-ins).
	DefaultMemoryBudget = 1_000_000
)

// compileExpr compiles one expression against the Event environment. asBool
// asks for a trigger (the result must be a boolean).
func compileExpr(src string, asBool bool) (*vm.Program, error) {
	if strings.TrimSpace(src) == "" {
		return nil, errors.New("empty expression")
	}
	if len(src) > MaxExprBytes {
		return nil, fmt.Errorf("expression of %d bytes is over the limit of %d", len(src), MaxExprBytes)
	}
	g := &guard{src: src}
	opts := []expr.Option{
		expr.Env(Event{}),
		// "type" is an event field; expr's built-in of that name would
		// otherwise shadow it.
		expr.DisableBuiltin("type"),
		expr.MaxNodes(MaxExprNodes),
		expr.Patch(g),
		expr.Patch(nilSafe{}),
		expr.Patch(loopBudget{}), // after nilSafe: it charges whole chains
		expr.Patch(stringCompare{}),
		expr.Patch(lazyFields{}), // last: the others look for reads of the event
	}
	opts = append(opts, budgetFuncs()...)
	if asBool {
		opts = append(opts, expr.AsBool())
	}
	prog, err := compileNoPanic(src, opts)
	if g.err != nil {
		return nil, g.err
	}
	if err != nil {
		return nil, errors.New(exprMessage(err))
	}
	return prog, nil
}

// compileNoPanic runs expr.Compile, turning a panic inside expr into an error:
// a malformed rule must be refused, never crash the worker.
func compileNoPanic(src string, opts []expr.Option) (prog *vm.Program, err error) {
	defer func() {
		if r := recover(); r != nil {
			prog, err = nil, fmt.Errorf("cannot compile expression: %v", r)
		}
	}()
	return expr.Compile(src, opts...)
}

// exprMessage shortens an expr error to one line: the message and, when
// known, the column in the expression. expr's own text repeats the source
// with a caret under it, which does not fit a list of problems.
func exprMessage(err error) string {
	var fe *file.Error
	if errors.As(err, &fe) {
		msg := strings.TrimSpace(fe.Message)
		if fe.Line > 1 {
			return fmt.Sprintf("%s (line %d, column %d of the expression)", msg, fe.Line, fe.Column+1)
		}
		if fe.Line == 1 {
			return fmt.Sprintf("%s (column %d)", msg, fe.Column+1)
		}
		return msg
	}
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return msg
}

// nilSafe makes every member access optional, as if written with "?.": member
// access on nil is nil, not an error, so properties.plan.name on an event
// without properties is nil. expr honours Optional only inside a ChainNode, so
// the outermost access of each chain is wrapped in one (the visitor runs
// children first: an inner chain is unwrapped when its parent is visited).
type nilSafe struct{}

func (nilSafe) Visit(node *ast.Node) {
	m, ok := (*node).(*ast.MemberNode)
	if !ok || m.Method {
		return
	}
	m.Optional = true
	if c, ok := m.Node.(*ast.ChainNode); ok {
		m.Node = c.Node
	}
	ast.Patch(node, &ast.ChainNode{Node: m})
}

// guard refuses constructs whose memory use the VM's budget does not bound.
// expr counts ranges, array and map literals and a few built-ins against
// vm.VM.MemoryBudget, but it allocates a repeat() result before counting it
// (repeat(repeat("x", 999999), 1000000) asks for a terabyte), and a string
// that doubles at each step of reduce() or through let bindings is never
// counted at all. None of these is needed to pick or shape webhook events.
type guard struct {
	src string
	err error
}

var refusedBuiltins = map[string]string{
	"repeat": "repeat() is not allowed in rules: its result is not bounded",
	"reduce": "reduce() is not allowed in rules: its accumulator is not bounded (use sum, count, map or filter)",
}

func (g *guard) Visit(node *ast.Node) {
	if g.err != nil {
		return
	}
	switch n := (*node).(type) {
	case *ast.VariableDeclaratorNode:
		g.refuse(n, "let is not allowed in rules: a variable can double a value at each step")
	case *ast.BuiltinNode:
		if msg, ok := refusedBuiltins[n.Name]; ok {
			g.refuse(n, msg)
		}
	case *ast.CallNode:
		if id, ok := n.Callee.(*ast.IdentifierNode); ok {
			if msg, ok := refusedBuiltins[id.Value]; ok {
				g.refuse(n, msg)
			}
		}
	}
}

func (g *guard) refuse(n ast.Node, msg string) {
	fe := (&file.Error{Location: n.Location(), Message: msg}).Bind(file.NewSource(g.src))
	g.err = errors.New(exprMessage(fe))
}

// outputKind returns the static result kind of a compiled expression, or
// reflect.Interface when it is only known at run time.
func outputKind(p *vm.Program) reflect.Kind {
	n := p.Node()
	if n == nil {
		return reflect.Interface
	}
	t := n.Type()
	if t == nil {
		return reflect.Interface
	}
	return t.Kind()
}
