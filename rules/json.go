package rules

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ParseJSON reads one action as written on the rules topic: a JSON object
// with the fields of a rules-file entry. Unknown fields, keys written twice and
// values of the wrong type are refused, every problem at once, with the line
// in the record. It does not validate beyond that; Compile does.
func ParseJSON(data []byte) (Action, error) {
	n, err := jsonNode(data)
	if err != nil {
		return Action{}, &FieldError{Msg: err.Error()}
	}
	d := &nodeDecoder{}
	a, _ := d.action(n)
	if len(d.errs) > 0 {
		return Action{}, joinFieldErrors(d.errs)
	}
	return a, nil
}

// jsonNode parses a JSON document into the same node tree a YAML file gives,
// with lines, so that one decoder serves both. (yaml.v3 reads most JSON but
// refuses \u escapes of surrogate pairs, which JSON encoders write for emoji.)
func jsonNode(data []byte) (*yaml.Node, error) {
	if !json.Valid(data) {
		var v any
		err := json.Unmarshal(data, &v)
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("line %d: invalid JSON: %s", 1+bytes.Count(data[:min(int(se.Offset), len(data))], []byte("\n")), strings.TrimPrefix(se.Error(), "json: "))
		}
		return nil, errors.New("invalid JSON")
	}
	p := &jsonParser{dec: json.NewDecoder(bytes.NewReader(data)), data: data}
	p.dec.UseNumber()
	n, err := p.value()
	if err != nil {
		return nil, err
	}
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("want a JSON object, got %s", kindOf(n))
	}
	if _, err := p.dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one JSON value, want one object")
	}
	return n, nil
}

type jsonParser struct {
	dec  *json.Decoder
	data []byte
	off  int // offset up to which lines are counted
	line int // line at off, 0-based
}

// lineAt returns the 1-based line of the decoder's position.
func (p *jsonParser) lineAt() int {
	off := min(int(p.dec.InputOffset()), len(p.data))
	if off > p.off {
		p.line += bytes.Count(p.data[p.off:off], []byte("\n"))
		p.off = off
	}
	return p.line + 1
}

func (p *jsonParser) value() (*yaml.Node, error) {
	tok, err := p.dec.Token()
	if err != nil {
		return nil, err
	}
	return p.node(tok)
}

func (p *jsonParser) node(tok json.Token) (*yaml.Node, error) {
	line := p.lineAt()
	scalar := func(tag, v string) *yaml.Node {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: v, Line: line}
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: line}
			for p.dec.More() {
				k, err := p.dec.Token()
				if err != nil {
					return nil, err
				}
				key, _ := k.(string)
				n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key, Line: p.lineAt()})
				v, err := p.value()
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, v)
			}
			_, err := p.dec.Token() // '}'
			return n, err
		case '[':
			n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: line}
			for p.dec.More() {
				v, err := p.value()
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, v)
			}
			_, err := p.dec.Token() // ']'
			return n, err
		}
		return nil, fmt.Errorf("line %d: unexpected %v", line, t)
	case string:
		return scalar("!!str", t), nil
	case json.Number:
		if strings.ContainsAny(string(t), ".eE") {
			return scalar("!!float", string(t)), nil
		}
		return scalar("!!int", string(t)), nil
	case bool:
		if t {
			return scalar("!!bool", "true"), nil
		}
		return scalar("!!bool", "false"), nil
	case nil:
		return scalar("!!null", "null"), nil
	}
	return nil, fmt.Errorf("line %d: unexpected %T", line, tok)
}
