package rules

import (
	"fmt"
	"slices"

	"github.com/expr-lang/expr/vm"
)

// Limits on a payload mapping.
const (
	MaxPayloadDepth  = 16  // nested maps
	MaxPayloadLeaves = 256 // expressions
)

// payloadNode is one object of a payload mapping: its keys in sorted order
// (the body is deterministic), each either an expression or a nested object.
type payloadNode struct {
	fields []payloadField
}

type payloadField struct {
	key  []byte       // the JSON-encoded key and its colon: "plan":
	path string       // payload.plan, for errors
	prog *vm.Program  // an expression, or
	obj  *payloadNode // a nested object, or
	lit  []byte       // a constant, JSON-encoded
}

// compilePayload compiles a mapping whose leaves are expression strings. The
// errors name each leaf by its path (payload.user.email).
func compilePayload(m map[string]any, path string, depth int, leaves *int) (*payloadNode, []*FieldError) {
	if depth > MaxPayloadDepth {
		return nil, []*FieldError{{Field: path, Msg: fmt.Sprintf("nested more than %d levels", MaxPayloadDepth)}}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	n := &payloadNode{}
	var errs []*FieldError
	for _, k := range keys {
		p := path + "." + k
		key := appendJSONString(nil, k)
		key = append(key, ':')
		f := payloadField{key: key, path: p}
		switch val := m[k].(type) {
		case string:
			*leaves++
			if *leaves > MaxPayloadLeaves {
				return nil, append(errs, &FieldError{Field: path, Msg: fmt.Sprintf("more than %d expressions", MaxPayloadLeaves)})
			}
			prog, err := compileExpr(val, false)
			if err != nil {
				errs = append(errs, &FieldError{Field: p, Msg: err.Error()})
				continue
			}
			f.prog = prog
		case map[string]any:
			obj, sub := compilePayload(val, p, depth+1, leaves)
			errs = append(errs, sub...)
			f.obj = obj
		case nil, bool, int, int64, float64:
			// A constant written as a JSON or YAML value rather than as an
			// expression string.
			lit, err := appendJSON(nil, val)
			if err != nil {
				errs = append(errs, &FieldError{Field: p, Msg: err.Error()})
				continue
			}
			f.lit = lit
		default:
			errs = append(errs, &FieldError{Field: p, Msg: fmt.Sprintf("want an expression or a mapping, got %T", val)})
			continue
		}
		if k == "" {
			errs = append(errs, &FieldError{Field: p, Msg: "empty key"})
		}
		n.fields = append(n.fields, f)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return n, nil
}

// appendTo evaluates every expression of the mapping on ev and appends the
// object as JSON to buf. A leaf that yields nil is written as null.
func (n *payloadNode) appendTo(buf []byte, ev *Event, v *vm.VM, budget uint) ([]byte, string, error) {
	buf = append(buf, '{')
	for i := range n.fields {
		f := &n.fields[i]
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, f.key...)
		if f.lit != nil {
			buf = append(buf, f.lit...)
			continue
		}
		if f.obj != nil {
			var err error
			var path string
			if buf, path, err = f.obj.appendTo(buf, ev, v, budget); err != nil {
				return buf, path, err
			}
			continue
		}
		v.MemoryBudget = budget
		out, err := v.Run(f.prog, ev)
		if err != nil {
			return buf, f.path, fmt.Errorf("%s", exprMessage(err))
		}
		if buf, err = appendJSON(buf, out); err != nil {
			return buf, f.path, err
		}
	}
	return append(buf, '}'), "", nil
}
