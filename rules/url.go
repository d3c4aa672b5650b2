package rules

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"reflect"
	"strconv"
	"strings"

	"github.com/expr-lang/expr/vm"
)

// urlTemplate is an action's URL split into literal text and {{ expr }}
// parts. A URL without parts is used as written.
type urlTemplate struct {
	raw   string
	parts []urlPart
}

type urlPart struct {
	literal string      // text before the expression
	prog    *vm.Program // nil for the trailing literal
	src     string      // expression source, for error messages
	query   bool        // inside the query string: query-escaped
}

// placeholder stands for each {{ expr }} when the URL's shape is checked.
const placeholder = "hookstream-placeholder"

// compileURL parses and checks a URL template: http or https, a host, no
// credentials, and expressions only in the path and query (an event must not
// choose the host it is sent to).
func compileURL(raw string) (urlTemplate, error) {
	t := urlTemplate{raw: raw}
	var shape strings.Builder
	rest := raw
	inQuery := false
	for {
		open := strings.Index(rest, "{{")
		if open < 0 {
			break
		}
		end := strings.Index(rest[open+2:], "}}")
		if end < 0 {
			return t, errors.New(`unclosed "{{"`)
		}
		lit := rest[:open]
		src := strings.TrimSpace(rest[open+2 : open+2+end])
		if strings.Contains(src, "{{") {
			return t, errors.New(`nested "{{"`)
		}
		inQuery = inQuery || strings.ContainsAny(lit, "?#")
		prog, err := compileExpr(src, false)
		if err != nil {
			return t, fmt.Errorf("{{ %s }}: %w", src, err)
		}
		switch outputKind(prog) {
		case reflect.Map, reflect.Slice, reflect.Array, reflect.Struct:
			return t, fmt.Errorf("{{ %s }}: want a string, number or boolean, got %s", src, prog.Node().Type())
		}
		t.parts = append(t.parts, urlPart{literal: lit, prog: prog, src: src, query: inQuery})
		shape.WriteString(lit)
		shape.WriteString(placeholder)
		rest = rest[open+2+end+2:]
	}
	if len(t.parts) > 0 {
		t.parts = append(t.parts, urlPart{literal: rest})
	}
	shape.WriteString(rest)
	u, err := url.Parse(shape.String())
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return t, err
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return t, errors.New("want an http or https URL")
	case u.Host == "":
		return t, errors.New("want a host")
	case u.User != nil:
		return t, errors.New("credentials in the URL are not allowed (use headers with ${env:NAME})")
	case strings.Contains(u.Host, placeholder) || strings.Contains(u.Scheme, placeholder):
		return t, errors.New("{{ }} is allowed in the path and query, not in the host")
	}
	return t, nil
}

// render resolves the template for ev. Without parts it returns the URL as
// written, without allocating.
func (t *urlTemplate) render(ev *Event, v *vm.VM, budget uint) (string, error) {
	if len(t.parts) == 0 {
		return t.raw, nil
	}
	var b strings.Builder
	b.Grow(len(t.raw) + 32)
	var num [32]byte
	for _, p := range t.parts {
		b.WriteString(p.literal)
		if p.prog == nil {
			continue
		}
		v.MemoryBudget = budget
		out, err := v.Run(p.prog, ev)
		if err != nil {
			return "", fmt.Errorf("{{ %s }}: %s", p.src, exprMessage(err))
		}
		var s string
		switch x := out.(type) {
		case nil:
		case string:
			s = x
		case bool:
			s = strconv.FormatBool(x)
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return "", fmt.Errorf("{{ %s }}: %v is not a URL value", p.src, x)
			}
			s = string(appendNumber(num[:0], x))
		case int:
			s = string(strconv.AppendInt(num[:0], int64(x), 10))
		case int64:
			s = string(strconv.AppendInt(num[:0], x, 10))
		default:
			return "", fmt.Errorf("{{ %s }}: want a string, number or boolean, got %T", p.src, out)
		}
		if p.query {
			b.WriteString(url.QueryEscape(s))
		} else {
			b.WriteString(url.PathEscape(s))
		}
	}
	return b.String(), nil
}

// appendNumber writes f without an exponent when it is integral (and below
// 1e21), else in its shortest form.
func appendNumber(dst []byte, f float64) []byte {
	if f == math.Trunc(f) && math.Abs(f) < 1e21 {
		return strconv.AppendFloat(dst, f, 'f', -1, 64)
	}
	return strconv.AppendFloat(dst, f, 'g', -1, 64)
}
