package rules

import (
	"slices"
	"strings"
	"sync/atomic"
)

// Set is one immutable version of all actions. A change builds a new Set
// (With, Without) and swaps it into a Store, so a change applies atomically to
// every later record while records in flight keep the version they loaded.
type Set struct {
	Actions []*Compiled // enabled and disabled, sorted by id; Match skips disabled ones
}

// NewSet returns a set of the given actions, sorted by id. Ids are assumed
// unique (CompileAll checks that).
func NewSet(actions ...*Compiled) *Set {
	s := &Set{Actions: slices.Clone(actions)}
	slices.SortFunc(s.Actions, func(a, b *Compiled) int { return strings.Compare(a.ID, b.ID) })
	return s
}

// Get returns the action with the given id, or nil.
func (s *Set) Get(id string) *Compiled {
	for _, c := range s.Actions {
		if c.ID == id {
			return c
		}
	}
	return nil
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
	out := make([]*Compiled, 0, len(s.Actions)+1)
	for _, old := range s.Actions {
		if old.ID != c.ID {
			out = append(out, old)
		}
	}
	return NewSet(append(out, c)...)
}

// Without returns a new set without the action of that id. s is not changed.
func (s *Set) Without(id string) *Set {
	out := make([]*Compiled, 0, len(s.Actions))
	for _, old := range s.Actions {
		if old.ID != id {
			out = append(out, old)
		}
	}
	return &Set{Actions: out}
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
