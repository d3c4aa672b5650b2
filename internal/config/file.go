package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// LoadFile reads the YAML config file at path over c. Keys the file sets
// override what c holds; keys it leaves out keep their values. Every problem
// (unknown key, wrong kind of value, bad duration) is reported, each as
// "path:line: key: what is wrong".
func (c *Config) LoadFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config file: %w", err)
	}
	return c.LoadYAML(path, data)
}

// yamlLine picks the line out of a YAML syntax error ("yaml: line 3: ...").
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// LoadYAML is LoadFile on data already read; name is used in messages.
func (c *Config) LoadYAML(name string, data []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			return fmt.Errorf("%s:%s: %s", name, m[1], m[2])
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	if len(doc.Content) == 0 { // an empty file sets nothing
		return nil
	}
	l := loader{name: name, cfg: c}
	l.section(doc.Content[0], reflect.ValueOf(c).Elem(), "")
	return errors.Join(l.errs...)
}

// loader walks the YAML tree alongside the Config struct, collecting errors.
type loader struct {
	name string
	cfg  *Config
	errs []error
}

func (l *loader) fail(n *yaml.Node, key, format string, args ...any) {
	where := fmt.Sprintf("%s:%d", l.name, n.Line)
	if key != "" {
		where += ": " + key
	}
	l.errs = append(l.errs, fmt.Errorf("%s: %s", where, fmt.Sprintf(format, args...)))
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	default:
		return fmt.Sprintf("%q", n.Value)
	}
}

// section reads mapping n into the struct v; prefix is v's dotted key.
func (l *loader) section(n *yaml.Node, v reflect.Value, prefix string) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		l.fail(n, prefix, "want a mapping of keys (%s), got %s", strings.Join(keysOf(v.Type()), ", "), kindName(n))
		return
	}
	seen := make(map[string]bool)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		key := k.Value
		if prefix != "" {
			key = prefix + "." + k.Value
		}
		if seen[k.Value] {
			l.fail(k, key, "duplicate key")
			continue
		}
		seen[k.Value] = true
		idx, ok := fieldIndex(v.Type(), k.Value)
		if !ok {
			in := "at the top level"
			if prefix != "" {
				in = "in " + prefix
			}
			l.fail(k, "", "unknown key %q %s (known: %s)", k.Value, in, strings.Join(keysOf(v.Type()), ", "))
			continue
		}
		f := v.Field(idx)
		switch {
		case f.Kind() == reflect.Pointer && f.Type().Elem().Kind() == reflect.Struct:
			if isNull(val) {
				continue
			}
			if f.IsNil() {
				f.Set(reflect.New(f.Type().Elem()))
			}
			l.section(val, f.Elem(), key)
		case f.Kind() == reflect.Struct && f.Type() != durationType:
			l.section(val, f, key)
		default:
			if !l.leaf(val, f, key) {
				continue
			}
		}
		l.cfg.setOrigin(key, fmt.Sprintf("%s:%d", l.name, k.Line))
	}
}

// leaf reads one value; it reports whether f was set.
func (l *loader) leaf(n *yaml.Node, f reflect.Value, key string) bool {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if isNull(n) {
		return false
	}
	if f.Kind() == reflect.Slice {
		var items []string
		switch n.Kind {
		case yaml.ScalarNode:
			items = []string{n.Value}
		case yaml.SequenceNode:
			for _, item := range n.Content {
				if item.Kind != yaml.ScalarNode || isNull(item) {
					l.fail(item, key, "want a list of values, got %s in it", kindName(item))
					return false
				}
				items = append(items, item.Value)
			}
		default:
			l.fail(n, key, "want a list, got %s", kindName(n))
			return false
		}
		f.Set(reflect.ValueOf(items))
		return true
	}
	if n.Kind != yaml.ScalarNode {
		l.fail(n, key, "want a single value, got %s", kindName(n))
		return false
	}
	if err := parseInto(f, n.Value); err != nil {
		l.fail(n, key, "%v", err)
		return false
	}
	return true
}
