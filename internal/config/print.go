package config

import (
	"fmt"
	"io"
	"reflect"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"
)

// Write prints c as a config file, each value followed by a comment saying
// where it came from. It holds no secrets: passwords are only ever named.
func (c *Config) Write(w io.Writer) error {
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(c.node(reflect.ValueOf(c).Elem(), "")); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	return enc.Close()
}

func (c *Config) node(v reflect.Value, prefix string) *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode}
	for i := range v.NumField() {
		name := yamlName(v.Type().Field(i))
		if name == "" {
			continue
		}
		key := name
		if prefix != "" {
			key = prefix + "." + name
		}
		f := v.Field(i)
		var val *yaml.Node
		switch {
		case f.Kind() == reflect.Pointer:
			if f.IsNil() {
				continue
			}
			val = c.node(f.Elem(), key)
		case f.Kind() == reflect.Struct:
			val = c.node(f, key)
		default:
			val = scalarNode(f)
			val.LineComment = c.Origin(key)
		}
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: name}, val)
	}
	return m
}

func scalarNode(f reflect.Value) *yaml.Node {
	switch {
	case f.Type() == durationType:
		return &yaml.Node{Kind: yaml.ScalarNode, Value: time.Duration(f.Int()).String()}
	case f.Kind() == reflect.Slice:
		seq := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		for i := range f.Len() {
			seq.Content = append(seq.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: f.Index(i).String()})
		}
		return seq
	case f.Kind() == reflect.Int:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(f.Int(), 10)}
	case f.Kind() == reflect.Bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(f.Bool())}
	default:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: f.String()}
	}
}
