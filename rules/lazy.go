package rules

import (
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"
	json "github.com/goccy/go-json"
)

// Building the maps of properties, traits, context and integrations is most
// of the cost of decoding an event (about two thirds, and nearly all its
// allocations), yet most triggers never look inside them: they test type
// or event first, and && stops there. So the fast path of decoding
// (scan.go) keeps each object field as the bytes it was written as, and an
// expression builds the map the first time it reads the field.
//
// Expressions read those fields through functions: a patch, applied when a
// rule is compiled, rewrites every reference to properties (or
// $env.properties) as a call of lazyProperties with $env, and so on, which
// build and keep the map on first use. Programs patched so run just as well on an event
// decoded the full way, whose maps are already there.
//
// The identifier fields (userId, anonymousId, groupId, previousId) are
// any-typed; boxing a string into one allocates, so the fast path keeps
// them as strings and they are boxed on first read, the same way.
//
// An expression that uses $env itself as a value (toJSON($env),
// $env[name]) would see those fields missing, so its action is marked and
// a Set holding one decodes every event the full way.

// lazyObjects are the object fields of an event not yet built into maps,
// and its identifier fields not yet boxed into their any fields (boxing a
// string allocates; most events never have theirs read).
type lazyObjects struct {
	raw [4][]byte // properties, traits, context, integrations, as written; nil once built
	set uint8     // which were seen while scanning (a second one gives up)

	ids   [4]string // userId, anonymousId, groupId, previousId, when a string
	idSet uint8     // which of ids are waiting to be boxed
}

// setID records identifier i as read by the scanner: a string, or null
// (ok false). A later occurrence replaces an earlier one, as in Decode.
func (l *lazyObjects) setID(i int, s string, ok bool) {
	l.ids[i] = s
	if ok {
		l.idSet |= 1 << i
	} else {
		l.idSet &^= 1 << i
	}
}

// lazyNames are the object fields, and idNames the identifier fields, in
// lazyObjects order.
var (
	lazyNames = [4]string{"properties", "traits", "context", "integrations"}
	idNames   = [4]string{"userId", "anonymousId", "groupId", "previousId"}
)

func lazyIndex(field string) int { return indexOf(lazyNames, field) }
func idIndex(field string) int   { return indexOf(idNames, field) }

func indexOf(names [4]string, field string) int {
	for i, n := range names {
		if n == field {
			return i
		}
	}
	return -1
}

// objectField returns a pointer to the map field of object i.
func (ev *Event) objectField(i int) *map[string]any {
	switch i {
	case 0:
		return &ev.Properties
	case 1:
		return &ev.Traits
	case 2:
		return &ev.Context
	default:
		return &ev.Integrations
	}
}

// object returns object field i, building its map first if it is still
// bytes. The fast path only keeps bytes that decode (it gives up on
// anything that might not), so the error is not expected; the field then
// stays nil.
func (ev *Event) object(i int) map[string]any {
	f := ev.objectField(i)
	if raw := ev.lazy.raw[i]; raw != nil {
		ev.lazy.raw[i] = nil
		var m map[string]any
		if err := json.UnmarshalOf(raw, &m, json.DecodeNoCopyString()); err == nil {
			*f = m
		}
	}
	return *f
}

// idField returns a pointer to identifier field i.
func (ev *Event) idField(i int) *any {
	switch i {
	case 0:
		return &ev.UserID
	case 1:
		return &ev.AnonymousID
	case 2:
		return &ev.GroupID
	default:
		return &ev.PreviousID
	}
}

// id returns identifier field i, boxing it first if it is still a string.
func (ev *Event) id(i int) any {
	f := ev.idField(i)
	if ev.lazy.idSet&(1<<i) != 0 {
		ev.lazy.idSet &^= 1 << i
		*f = ev.lazy.ids[i]
	}
	return *f
}

// Load builds every object field still kept as bytes and boxes every
// identifier, so that ev's fields can be read directly. Expressions do not
// need it.
func (ev *Event) Load() {
	for i := range lazyNames {
		ev.object(i)
	}
	for i := range idNames {
		ev.id(i)
	}
}

// DecodeLazy is Decode by the fast path where it can: the same checks, the
// same top-level fields, but properties, traits, context and integrations
// are left as bytes until an expression reads them (or Load is called).
// Values of unusual shape are decoded by Decode itself, so DecodeLazy
// accepts and refuses exactly what Decode does.
func DecodeLazy(value []byte, maxBytes int, ev *Event) error {
	*ev = Event{}
	if err := precheck(value, maxBytes); err != nil {
		return err
	}
	if scanEvent(value, ev) {
		return nil
	}
	return Decode(value, maxBytes, ev)
}

// Decode decodes value for this set of actions: by the fast path
// (DecodeLazy) unless one of its actions uses $env as a whole, which needs
// every field built.
func (s *Set) Decode(value []byte, maxBytes int, ev *Event) error {
	if s.idx != nil && s.idx.wholeEnv {
		return Decode(value, maxBytes, ev)
	}
	if s.idx == nil {
		for _, c := range s.Actions {
			if c.wholeEnv && c.enabled {
				return Decode(value, maxBytes, ev)
			}
		}
	}
	return DecodeLazy(value, maxBytes, ev)
}

// Accessors of the object fields, called by patched expressions. Each is
// a plain func(any) map[string]any: expr calls a function of that type
// without reflection and without allocating (OpCallTyped), where a function
// registered with expr.Function would cost an allocation per evaluation.
func lazyProperties(env any) map[string]any   { return objectOf(env, 0) }
func lazyTraits(env any) map[string]any       { return objectOf(env, 1) }
func lazyContext(env any) map[string]any      { return objectOf(env, 2) }
func lazyIntegrations(env any) map[string]any { return objectOf(env, 3) }

func objectOf(env any, i int) map[string]any {
	if ev, ok := env.(*Event); ok {
		return ev.object(i)
	}
	return nil // a value environment: not how hookstream runs expressions
}

// Accessors of the identifier fields, of the other typed shape expr calls
// without allocating, func(any) any.
func lazyUserID(env any) any      { return idOf(env, 0) }
func lazyAnonymousID(env any) any { return idOf(env, 1) }
func lazyGroupID(env any) any     { return idOf(env, 2) }
func lazyPreviousID(env any) any  { return idOf(env, 3) }

func idOf(env any, i int) any {
	if ev, ok := env.(*Event); ok {
		return ev.id(i)
	}
	return nil
}

// idAccessor returns the accessor of identifier field i.
func idAccessor(i int) func(any) any {
	switch i {
	case 0:
		return lazyUserID
	case 1:
		return lazyAnonymousID
	case 2:
		return lazyGroupID
	default:
		return lazyPreviousID
	}
}

// lazyAccessor returns the accessor of object field i.
func lazyAccessor(i int) func(any) map[string]any {
	switch i {
	case 0:
		return lazyProperties
	case 1:
		return lazyTraits
	case 2:
		return lazyContext
	default:
		return lazyIntegrations
	}
}

// lazyFields is the patch: properties and $env.properties (or
// $env["properties"]) become a call of the accessor with $env, and so on
// for every object and identifier field.
// The accessor is a constant in the tree, so no name can clash with it. It
// must run after every patch that looks for reads of the event.
type lazyFields struct{}

func (lazyFields) Visit(node *ast.Node) {
	var field string
	switch n := (*node).(type) {
	case *ast.IdentifierNode:
		field = n.Value
	case *ast.MemberNode:
		env, ok := n.Node.(*ast.IdentifierNode)
		if !ok || env.Value != "$env" {
			return
		}
		if s, ok := n.Property.(*ast.StringNode); ok {
			field = s.Value
		}
	default:
		return
	}
	var accessor any
	if i := lazyIndex(field); i >= 0 {
		accessor = lazyAccessor(i)
	} else if i := idIndex(field); i >= 0 {
		accessor = idAccessor(i)
	} else {
		return
	}
	ast.Patch(node, &ast.CallNode{
		Callee:    &ast.ConstantNode{Value: accessor},
		Arguments: []ast.Node{&ast.IdentifierNode{Value: "$env"}},
	})
}

// usesWholeEnv reports whether a compiled program reads $env other than
// as the first argument of one of hookstream's own functions or through the
// constant name of a string or identifier field: such a program needs the
// event decoded the full way.
func usesWholeEnv(p *vm.Program) bool {
	if p == nil || p.Node() == nil {
		return false
	}
	w := &envUses{allowed: map[*ast.IdentifierNode]bool{}}
	root := p.Node()
	ast.Walk(&root, w)
	for _, e := range w.envs {
		if !w.allowed[e] {
			return true
		}
	}
	return false
}

// envUses lists the $env identifiers of a tree, and those used in an
// allowed way.
type envUses struct {
	envs    []*ast.IdentifierNode
	allowed map[*ast.IdentifierNode]bool
}

func (w *envUses) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.IdentifierNode:
		if n.Value == "$env" {
			w.envs = append(w.envs, n)
		}
	case *ast.CallNode:
		if len(n.Arguments) > 0 && isOwnCall(n) {
			if env, ok := n.Arguments[0].(*ast.IdentifierNode); ok {
				w.allowed[env] = true
			}
		}
	case *ast.MemberNode:
		// A top-level field by name, other than an object field: those
		// left in the tree were not patched (a name folded into a
		// constant after the patch ran).
		if env, ok := n.Node.(*ast.IdentifierNode); ok {
			if s, ok := n.Property.(*ast.StringNode); ok && lazyIndex(s.Value) < 0 && idIndex(s.Value) < 0 {
				w.allowed[env] = true
			}
		}
	}
}

// isOwnCall reports whether n calls a function hookstream's patches add
// with $env: a lazy accessor or a string comparison (compare.go), the only
// constant functions in a tree, or the step budget's (budget.go).
func isOwnCall(n *ast.CallNode) bool {
	switch callee := n.Callee.(type) {
	case *ast.ConstantNode:
		switch callee.Value.(type) {
		case func(any) map[string]any, func(any) any, func(any) bool:
			return true
		}
		return false
	case *ast.IdentifierNode:
		return callee.Value == loopFunc || callee.Value == costFunc
	}
	return false
}

// programs returns every compiled expression of c.
func (c *Compiled) programs() []*vm.Program {
	out := []*vm.Program{c.trigger}
	for _, p := range c.url.parts {
		if p.prog != nil {
			out = append(out, p.prog)
		}
	}
	var walk func(n *payloadNode)
	walk = func(n *payloadNode) {
		if n == nil {
			return
		}
		for _, f := range n.fields {
			if f.prog != nil {
				out = append(out, f.prog)
			}
			walk(f.obj)
		}
	}
	walk(c.payload)
	return out
}

// needsWholeEnv reports whether any expression of c uses $env as a whole.
func (c *Compiled) needsWholeEnv() bool {
	for _, p := range c.programs() {
		if usesWholeEnv(p) {
			return true
		}
	}
	return false
}
