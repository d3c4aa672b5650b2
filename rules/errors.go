package rules

import (
	"errors"
	"fmt"
	"strings"
)

// FieldError is one problem with one action: which action, which field, and,
// for rules files, where. Validation reports every problem at once, as an
// errors.Join of *FieldError; errors.As finds the first.
//
// Messages never carry a header value or a secret, only the names of the
// environment variables involved.
type FieldError struct {
	File   string // rules file, "" when not from a file
	Line   int    // 1-based line in File (or in a JSON record), 0 when unknown
	Action string // the action's id, "" when it has none
	Index  int    // 1-based position in a list of actions, 0 when not in a list
	Field  string // dotted path such as "batch.size"; "" for the action itself
	Value  string // the offending value as written, when short and not secret
	Msg    string
}

func (e *FieldError) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	case e.File != "":
		b.WriteString(e.File + ": ")
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Action == "" && e.Index == 0 && e.Field == "" { // the file itself
		b.WriteString(e.Msg)
		return b.String()
	}
	switch {
	case e.Action != "":
		fmt.Fprintf(&b, "action %q", e.Action)
	case e.Index > 0:
		fmt.Fprintf(&b, "action #%d", e.Index)
	default:
		b.WriteString("action")
	}
	if e.Field != "" {
		b.WriteString(": " + e.Field)
		if e.Value != "" {
			b.WriteString(" " + e.Value)
		}
	}
	b.WriteString(": " + e.Msg)
	return b.String()
}

// joinFieldErrors returns the problems as one error (nil for none).
func joinFieldErrors(errs []*FieldError) error {
	if len(errs) == 0 {
		return nil
	}
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = e
	}
	return errors.Join(out...)
}

// FieldErrors returns the *FieldError values inside err (as returned by
// Compile, CompileAll, ParseYAML, ParseJSON, LoadYAML and LoadFile).
func FieldErrors(err error) []*FieldError {
	var out []*FieldError
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		if fe, ok := err.(*FieldError); ok {
			out = append(out, fe)
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		if e := errors.Unwrap(err); e != nil {
			walk(e)
		}
	}
	walk(err)
	return out
}
