package rules

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// Compile validates a, fills in its defaults and compiles its expressions
// (trigger, URL template, payload) once. Every problem is reported at once, as
// an errors.Join of *FieldError naming the action and the field.
func Compile(a Action, opt Options) (*Compiled, error) {
	c, errs := compile(a, opt)
	if len(errs) > 0 {
		return nil, joinFieldErrors(errs)
	}
	return c, nil
}

// CompileAll compiles a list of actions into a Set, checking also that ids are
// unique. It reports the problems of every action at once.
func CompileAll(actions []Action, opt Options) (*Set, error) {
	set, errs := compileAll(actions, nil, "", opt)
	if len(errs) > 0 {
		return nil, joinFieldErrors(errs)
	}
	return set, nil
}

// LoadYAML parses a rules file (a top-level "actions:" list) and compiles it.
// Problems are reported all at once, each with the file name and line:
//
//	rules.yaml:14: action "signups": batch.size 5000: want 1..1000
func LoadYAML(data []byte, filename string, opt Options) (*Set, error) {
	actions, pos, errs := parseYAML(data, filename)
	if actions == nil && len(errs) > 0 {
		return nil, joinFieldErrors(errs)
	}
	set, cerrs := compileAll(actions, pos, filename, opt)
	errs = append(errs, dropDecoded(cerrs, errs)...)
	slices.SortStableFunc(errs, func(a, b *FieldError) int {
		return cmp.Or(cmp.Compare(a.Index, b.Index), cmp.Compare(a.Line, b.Line))
	})
	if len(errs) > 0 {
		return nil, joinFieldErrors(errs)
	}
	return set, nil
}

// LoadFile reads and loads a rules file; see LoadYAML.
func LoadFile(path string, opt Options) (*Set, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load rules: %w", err)
	}
	return LoadYAML(data, filepath.Base(path), opt)
}

// compileAll compiles each action. pos, when not nil, holds each action's
// field lines (from a file), used to place the errors.
func compileAll(actions []Action, pos []positions, file string, opt Options) (*Set, []*FieldError) {
	var errs []*FieldError
	out := make([]*Compiled, 0, len(actions))
	first := make(map[string]int, len(actions)) // id -> index of its first action
	for i, a := range actions {
		var p positions
		if pos != nil {
			p = pos[i]
		}
		c, cerrs := compile(a, opt)
		if a.ID != "" {
			if j, dup := first[a.ID]; dup {
				where := fmt.Sprintf("action #%d", j+1)
				if pos != nil && pos[j].line("") > 0 {
					where = fmt.Sprintf("line %d", pos[j].line(""))
				}
				cerrs = append(cerrs, &FieldError{Action: a.ID, Field: "id", Msg: "duplicate id, also at " + where})
			} else {
				first[a.ID] = i
			}
		}
		for _, e := range cerrs {
			e.Index = i + 1
			e.File = file
			e.Line = p.line(e.Field)
		}
		errs = append(errs, cerrs...)
		if c != nil {
			out = append(out, c)
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return NewSet(out...), nil
}

// compile is Compile returning the problems as a list.
func compile(a Action, opt Options) (*Compiled, []*FieldError) {
	var errs []*FieldError
	add := func(field, value, msg string) {
		errs = append(errs, &FieldError{Action: a.ID, Field: field, Value: value, Msg: msg})
	}
	d := withDefaults(a)
	budget := opt.MemoryBudget
	if budget == 0 {
		budget = DefaultMemoryBudget
	}
	c := &Compiled{Action: d, enabled: *d.Enabled, budget: budget}

	if a.ID == "" {
		add("id", "", "required")
	} else if !checkID(a.ID) {
		add("id", quoted(a.ID), "want 1 to 128 of A-Z a-z 0-9 . _ -")
	}
	if a.Trigger == "" {
		add("trigger", "", "required")
	} else if prog, err := compileExpr(a.Trigger, true); err != nil {
		add("trigger", "", err.Error())
	} else {
		c.trigger = prog
	}
	if a.URL == "" {
		add("url", "", "required")
	} else if t, err := compileURL(a.URL); err != nil {
		add("url", "", err.Error())
	} else {
		c.url = t
	}
	if m, ok := checkMethod(d.Method); ok {
		c.Method = m
	} else {
		add("method", quoted(d.Method), "want POST, PUT, PATCH or DELETE")
	}
	c.Header = resolveHeaders(d.Headers, opt, add)
	checkSignature(&d, add)
	c.Secrets = checkSecrets(&d, opt, add)
	if d.Payload != nil {
		if len(d.Payload) == 0 {
			add("payload", "", "empty mapping (omit payload to send events as they came)")
		} else {
			leaves := 0
			p, perrs := compilePayload(d.Payload, "payload", 1, &leaves)
			for _, e := range perrs {
				e.Action = a.ID
			}
			errs = append(errs, perrs...)
			c.payload = p
		}
	}
	checkSettings(&d, add)
	checkRateLimit(d.RateLimit, add)
	c.Password, c.ClientSecret = checkAuth(&d, opt, add)
	c.TLSConfig = compileTLS(&d, opt, add)
	if len(errs) > 0 {
		return nil, errs
	}
	c.wholeEnv = c.needsWholeEnv()
	c.key = readKey(a.Trigger)
	return c, nil
}
