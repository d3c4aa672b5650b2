package topic

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/hookstream/hookstream/rules"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Canonical is the one JSON form of an action written to the rules topic:
// the fields as written in the rules file (defaults are not filled in, and
// "${env:NAME}" stays a reference, never a value), in a fixed order, map
// keys sorted, without HTML escaping (so `a && b` stays readable), on one
// line.
func Canonical(a rules.Action) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(a); err != nil {
		return nil, fmt.Errorf("encode action %s: %w", a.ID, err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// Plan is what publishing a rules file changes on the rules topic. Each
// list holds action ids, sorted.
type Plan struct {
	Added     []string // in the file, not on the topic
	Changed   []string // on both, different
	Unchanged []string // on both, the same
	Removed   []string // on the topic, not in the file: deleted (prune)
	Kept      []string // on the topic, not in the file: kept (no prune)
	// Records make the topic match the file: the added and changed actions
	// in Canonical form, then a tombstone per removed action.
	Records []*kgo.Record
}

// Diff compares the actions on the topic (as Read returns them) with the
// actions of a rules file, already validated. A value on the topic that
// cannot be parsed counts as changed, so the file's version replaces it.
// With prune, actions the file does not have are deleted.
func Diff(topic string, current map[string][]byte, file []rules.Action, prune bool) (Plan, error) {
	var p Plan
	inFile := make(map[string]bool, len(file))
	for _, a := range file {
		inFile[a.ID] = true
		want, err := Canonical(a)
		if err != nil {
			return Plan{}, err
		}
		old, ok := current[a.ID]
		switch {
		case !ok:
			p.Added = append(p.Added, a.ID)
		case sameAction(old, want):
			p.Unchanged = append(p.Unchanged, a.ID)
			continue
		default:
			p.Changed = append(p.Changed, a.ID)
		}
		p.Records = append(p.Records, &kgo.Record{Topic: topic, Key: []byte(a.ID), Value: want})
	}
	for _, id := range slices.Sorted(maps.Keys(current)) {
		switch {
		case inFile[id]:
		case prune:
			p.Removed = append(p.Removed, id)
			p.Records = append(p.Records, &kgo.Record{Topic: topic, Key: []byte(id)}) // nil value: tombstone
		default:
			p.Kept = append(p.Kept, id)
		}
	}
	for _, l := range [][]string{p.Added, p.Changed, p.Unchanged} {
		slices.Sort(l)
	}
	return p, nil
}

// sameAction reports whether a value on the topic is the action whose
// canonical form is want, however the value was formatted.
func sameAction(old, want []byte) bool {
	a, err := rules.ParseJSON(old)
	if err != nil {
		return false
	}
	c, err := Canonical(a)
	return err == nil && bytes.Equal(c, want)
}
