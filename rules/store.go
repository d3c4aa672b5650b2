package rules

import (
	"slices"
	"strings"
	"sync/atomic"
)

// Set is one immutable version of all actions. A change builds a new Set
// (With, Without) and swaps it into a Store, so a change applies atomically to
// every later record while records in flight keep the version they loaded.
// The trigger index (index.go) is built with the set and swapped with it.
type Set struct {
	Actions []*Compiled // enabled and disabled, sorted by id; Match skips disabled ones

	idx *index // nil in a Set not made by NewSet: Match runs every trigger
}

// NewSet returns a set of the given actions, sorted by id, with its trigger
// index. Ids are assumed unique (CompileAll checks that).
func NewSet(actions ...*Compiled) *Set {
	sorted := slices.Clone(actions)
	slices.SortFunc(sorted, compareID)
	return newSorted(sorted)
}

// newSorted makes a set of actions already sorted by id, which it keeps.
func newSorted(actions []*Compiled) *Set {
	return &Set{Actions: actions, idx: newIndex(actions)}
}

func compareID(a, b *Compiled) int { return strings.Compare(a.ID, b.ID) }

// Get returns the action with the given id, or nil.
func (s *Set) Get(id string) *Compiled {
	i, ok := slices.BinarySearchFunc(s.Actions, id, func(c *Compiled, id string) int { return strings.Compare(c.ID, id) })
	if !ok {
		return nil
	}
	return s.Actions[i]
}

// Enabled returns how many actions take part in matching.
func (s *Set) Enabled() int {
	n := 0
	for _, c := range s.Actions {
		if c.enabled {
			n++
		}
	}
	return n
}

// With returns a new set in which c replaces the action of the same id, or is
// added. s is not changed.
func (s *Set) With(c *Compiled) *Set {
	i, found := slices.BinarySearchFunc(s.Actions, c, compareID)
	out := make([]*Compiled, 0, len(s.Actions)+1)
	out = append(out, s.Actions[:i]...)
	out = append(out, c)
	if found {
		i++
	}
	return newSorted(append(out, s.Actions[i:]...))
}

// Without returns a new set without the action of that id. s is not changed.
func (s *Set) Without(id string) *Set {
	out := make([]*Compiled, 0, len(s.Actions))
	for _, old := range s.Actions {
		if old.ID != id {
			out = append(out, old)
		}
	}
	return newSorted(out)
}

// Store holds the current Set; readers Load it once per record.
type Store struct{ p atomic.Pointer[Set] }

// Load returns the current set (never nil).
func (s *Store) Load() *Set {
	if set := s.p.Load(); set != nil {
		return set
	}
	return &Set{}
}

// Swap installs set for all later records.
func (s *Store) Swap(set *Set) { s.p.Store(set) }
