package rules

import (
	"errors"
	"io"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// positions maps an action's field paths ("", "batch.size",
// "headers.Authorization") to their line, so that a problem found after
// parsing can still be placed in the file.
type positions map[string]int

// line returns the line of field, or of its closest enclosing field.
func (p positions) line(field string) int {
	for {
		if l, ok := p[field]; ok {
			return l
		}
		if field == "" {
			return 0
		}
		i := strings.LastIndexByte(field, '.')
		if i < 0 {
			field = ""
		} else {
			field = field[:i]
		}
	}
}

// ParseYAML reads a rules file: YAML with a top-level "actions:" list (other
// top-level keys are refused, except "x-" ones, which may hold anchors to
// merge with "<<"). Unknown fields and values of the wrong type are refused,
// every problem at once, each with filename:line. It does not validate
// beyond that; Compile and LoadYAML do.
func ParseYAML(data []byte, filename string) ([]Action, error) {
	actions, _, errs := parseYAML(data, filename)
	if len(errs) > 0 {
		return nil, joinFieldErrors(errs)
	}
	return actions, nil
}

// parseYAML returns the actions it could decode (nil when the file itself is
// unreadable), their field lines, and the problems found.
func parseYAML(data []byte, filename string) ([]Action, []positions, []*FieldError) {
	fileErr := func(line int, msg string) []*FieldError {
		return []*FieldError{{File: filename, Line: line, Msg: msg}}
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil, fileErr(0, "empty rules file, want a top-level actions: list")
		}
		line, msg := yamlError(err)
		return nil, nil, fileErr(line, msg)
	}
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return nil, nil, fileErr(more.Line, "more than one YAML document, want one")
	}
	if len(doc.Content) == 0 {
		return nil, nil, fileErr(0, "empty rules file, want a top-level actions: list")
	}
	top := resolve(doc.Content[0])
	if top.Kind != yaml.MappingNode {
		return nil, nil, fileErr(top.Line, "want a mapping with a top-level actions: list, got "+kindOf(top))
	}
	var list *yaml.Node
	var errs []*FieldError
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		switch {
		case k.Value == "actions":
			list = resolve(v)
		case strings.HasPrefix(k.Value, "x-"):
		default:
			errs = append(errs, &FieldError{File: filename, Line: k.Line, Msg: "unknown top-level field " + strconv.Quote(k.Value) + ", want actions"})
		}
	}
	if list == nil {
		return nil, nil, append(errs, fileErr(top.Line, "no top-level actions: list")...)
	}
	if list.Kind == yaml.ScalarNode && list.Tag == "!!null" {
		return []Action{}, []positions{}, errs
	}
	if list.Kind != yaml.SequenceNode {
		return nil, nil, append(errs, fileErr(list.Line, "actions: want a list, got "+kindOf(list))...)
	}
	actions := make([]Action, 0, len(list.Content))
	pos := make([]positions, 0, len(list.Content))
	for i, n := range list.Content {
		d := &nodeDecoder{file: filename, index: i + 1}
		a, p := d.action(n)
		actions = append(actions, a)
		pos = append(pos, p)
		errs = append(errs, d.errs...)
	}
	return actions, pos, errs
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlError splits a yaml.v3 syntax error into its line and message.
func yamlError(err error) (int, string) {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return line, m[2]
	}
	return 0, strings.TrimPrefix(msg, "yaml: ")
}

// resolve follows aliases to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// kindOf names a node's kind for messages.
func kindOf(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "null"
		case "!!str":
			return "the string " + quoted(n.Value)
		}
		return quoted(n.Value)
	case yaml.AliasNode:
		return "an alias"
	}
	return "an empty document"
}

// dropDecoded removes, from the compile problems, those on fields that
// already failed to decode: a field of the wrong type would otherwise also be
// reported as missing.
func dropDecoded(compiled, decoded []*FieldError) []*FieldError {
	if len(decoded) == 0 {
		return compiled
	}
	bad := make(map[int][]string)
	for _, e := range decoded {
		bad[e.Index] = append(bad[e.Index], e.Field)
	}
	out := compiled[:0]
	for _, e := range compiled {
		drop := false
		for _, f := range bad[e.Index] {
			if e.Field == f || strings.HasPrefix(e.Field, f+".") || f == "" {
				drop = true
				break
			}
		}
		if !drop {
			out = append(out, e)
		}
	}
	return out
}
