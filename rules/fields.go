package rules

import (
	"fmt"

	"go.yaml.in/yaml/v3"
)

// nodeDecoder turns one action's YAML node (from a rules file, or built from
// a JSON record) into an Action, recording each field's line and refusing
// unknown fields and values of the wrong type.
type nodeDecoder struct {
	file  string
	index int // 1-based position in the file's list, 0 for a single record
	id    string
	pos   positions
	errs  []*FieldError
	nodes int // payload nodes visited, bounded against alias bombs
}

func (d *nodeDecoder) fail(n *yaml.Node, field, msg string) {
	d.errs = append(d.errs, &FieldError{File: d.file, Line: n.Line, Action: d.id, Index: d.index, Field: field, Msg: msg})
}

// pair is one key and value of a mapping, with "<<" merges applied.
type pair struct {
	key   string
	knode *yaml.Node
	val   *yaml.Node
}

// pairs lists a mapping's entries. Keys from "<<: *anchor" merges come after
// the explicit ones and never override them; a key written twice is refused.
func (d *nodeDecoder) pairs(n *yaml.Node, field string) []pair {
	var out []pair
	seen := map[string]bool{}
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.fail(k, field, "want plain keys, got "+kindOf(k))
			continue
		}
		if k.Tag == "!!merge" {
			merges = append(merges, v)
			continue
		}
		if seen[k.Value] {
			d.fail(k, join(field, k.Value), "written twice")
			continue
		}
		seen[k.Value] = true
		out = append(out, pair{k.Value, k, v})
	}
	for _, m := range merges {
		m = resolve(m)
		var srcs []*yaml.Node
		switch m.Kind {
		case yaml.MappingNode:
			srcs = []*yaml.Node{m}
		case yaml.SequenceNode:
			srcs = m.Content
		}
		for _, src := range srcs {
			src = resolve(src)
			if src.Kind != yaml.MappingNode {
				d.fail(m, field, "<< wants a mapping or a list of mappings")
				continue
			}
			for i := 0; i+1 < len(src.Content); i += 2 {
				k := src.Content[i]
				if k.Kind != yaml.ScalarNode || k.Tag == "!!merge" || seen[k.Value] {
					continue
				}
				seen[k.Value] = true
				out = append(out, pair{k.Value, k, src.Content[i+1]})
			}
		}
	}
	return out
}

func join(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// mapping returns n's entries, or fails when n is not a mapping. A null value
// means the field is absent.
func (d *nodeDecoder) mapping(n *yaml.Node, field string) ([]pair, bool) {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil, false
	}
	if n.Kind != yaml.MappingNode {
		d.fail(n, field, "want a mapping, got "+kindOf(n))
		return nil, false
	}
	return d.pairs(n, field), true
}

// action decodes one entry of the actions list.
func (d *nodeDecoder) action(n *yaml.Node) (Action, positions) {
	var a Action
	d.pos = positions{"": n.Line}
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		d.fail(n, "", "want a mapping, got "+kindOf(n))
		return a, d.pos
	}
	ps := d.pairs(n, "")
	for _, p := range ps { // name the action in every message, whatever the field order
		if p.key == "id" && resolve(p.val).Kind == yaml.ScalarNode {
			d.id = resolve(p.val).Value
		}
	}
	for _, e := range d.errs {
		e.Action = d.id
	}
	for _, p := range ps {
		d.pos[p.key] = p.knode.Line
		v := resolve(p.val)
		switch p.key {
		case "id":
			a.ID = d.str(v, p.key)
		case "trigger":
			a.Trigger = d.str(v, p.key)
		case "url":
			a.URL = d.str(v, p.key)
		case "method":
			a.Method = d.str(v, p.key)
		case "secret_env":
			a.SecretEnv = d.str(v, p.key)
		case "signature":
			a.Signature = d.str(v, p.key)
		case "headers":
			a.Headers = d.headers(v)
		case "payload":
			a.Payload = d.payload(v, "payload", 1)
		case "batch":
			a.Batch = d.batch(v)
		case "timeout":
			a.Timeout = d.duration(v, p.key)
		case "max_in_flight":
			a.MaxInFlight = d.int(v, p.key)
		case "retry":
			a.Retry = d.retry(v)
		case "breaker":
			a.Breaker = d.breaker(v)
		case "rate_limit":
			a.RateLimit = d.rateLimit(v)
		case "auth":
			a.Auth = d.auth(v)
		case "tls":
			a.TLS = d.tls(v)
		case "enabled":
			a.Enabled = d.bool(v, p.key)
		default:
			d.fail(p.knode, p.key, "unknown field")
		}
	}
	return a, d.pos
}

func (d *nodeDecoder) headers(n *yaml.Node) map[string]string {
	ps, ok := d.mapping(n, "headers")
	if !ok {
		return nil
	}
	h := make(map[string]string, len(ps))
	for _, p := range ps {
		field := "headers." + p.key
		d.pos[field] = p.knode.Line
		h[p.key] = d.str(resolve(p.val), field)
	}
	return h
}

func (d *nodeDecoder) batch(n *yaml.Node) *Batch {
	ps, ok := d.mapping(n, "batch")
	if !ok {
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return &Batch{} // "batch:" alone: batched, with the defaults
		}
		return nil
	}
	b := &Batch{}
	for _, p := range ps {
		field := "batch." + p.key
		d.pos[field] = p.knode.Line
		v := resolve(p.val)
		switch p.key {
		case "size":
			b.Size = d.int(v, field)
		case "wait":
			b.Wait = d.duration(v, field)
		case "max_bytes":
			b.MaxBytes = d.int(v, field)
		default:
			d.fail(p.knode, field, "unknown field")
		}
	}
	return b
}

func (d *nodeDecoder) retry(n *yaml.Node) Retry {
	var r Retry
	ps, _ := d.mapping(n, "retry")
	for _, p := range ps {
		field := "retry." + p.key
		d.pos[field] = p.knode.Line
		v := resolve(p.val)
		switch p.key {
		case "max_duration":
			r.MaxDuration = d.duration(v, field)
		case "initial_backoff":
			r.InitialBackoff = d.duration(v, field)
		case "max_backoff":
			r.MaxBackoff = d.duration(v, field)
		case "park_after":
			r.ParkAfter = d.duration(v, field)
		default:
			d.fail(p.knode, field, "unknown field")
		}
	}
	return r
}

func (d *nodeDecoder) breaker(n *yaml.Node) Breaker {
	var b Breaker
	ps, _ := d.mapping(n, "breaker")
	for _, p := range ps {
		field := "breaker." + p.key
		d.pos[field] = p.knode.Line
		v := resolve(p.val)
		switch p.key {
		case "failures":
			b.Failures = d.int(v, field)
		case "open_for":
			b.OpenFor = d.duration(v, field)
		default:
			d.fail(p.knode, field, "unknown field")
		}
	}
	return b
}

// payload decodes a mapping whose leaves are expressions. Scalars of any
// type are taken as expression text (5, true and "x" written in JSON are the
// expressions 5, true and x); null and lists are refused.
func (d *nodeDecoder) payload(n *yaml.Node, field string, depth int) map[string]any {
	if depth > MaxPayloadDepth {
		d.fail(n, field, fmt.Sprintf("nested more than %d levels", MaxPayloadDepth))
		return nil
	}
	ps, ok := d.mapping(n, field)
	if !ok {
		return nil
	}
	m := make(map[string]any, len(ps))
	for _, p := range ps {
		d.nodes++
		if d.nodes > 4*MaxPayloadLeaves {
			d.fail(p.knode, field, fmt.Sprintf("more than %d entries", 4*MaxPayloadLeaves))
			return nil
		}
		sub := field + "." + p.key
		d.pos[sub] = p.knode.Line
		v := resolve(p.val)
		switch {
		case v.Kind == yaml.MappingNode:
			m[p.key] = d.payload(v, sub, depth+1)
		case v.Kind == yaml.ScalarNode && v.Tag != "!!null":
			m[p.key] = v.Value
		case v.Kind == yaml.ScalarNode:
			d.fail(v, sub, "want an expression or a mapping, got null (write nil for a null value)")
		default:
			d.fail(v, sub, "want an expression or a mapping, got "+kindOf(v))
		}
	}
	return m
}

// str decodes a scalar as text. Null means absent.
func (d *nodeDecoder) str(n *yaml.Node, field string) string {
	if n.Kind == yaml.ScalarNode {
		if n.Tag == "!!null" {
			return ""
		}
		return n.Value
	}
	d.fail(n, field, "want a string, got "+kindOf(n))
	return ""
}

func (d *nodeDecoder) int(n *yaml.Node, field string) int {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return 0
	}
	var i int
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&i) != nil {
		d.fail(n, field, "want an integer, got "+kindOf(n))
		return 0
	}
	return i
}

func (d *nodeDecoder) bool(n *yaml.Node, field string) *bool {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	var b bool
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&b) != nil {
		d.fail(n, field, "want true or false, got "+kindOf(n))
		return nil
	}
	return &b
}

func (d *nodeDecoder) duration(n *yaml.Node, field string) Duration {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return 0
	}
	var dur Duration
	if n.Kind != yaml.ScalarNode {
		d.fail(n, field, "want a duration such as \"200ms\" or \"1h\", got "+kindOf(n))
		return 0
	}
	if err := dur.parse(n.Value); err != nil {
		d.fail(n, field, err.Error())
		return 0
	}
	return dur
}
