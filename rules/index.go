package rules

import "github.com/expr-lang/expr/vm"

// index lets a Set run, for one event, only the triggers that might match
// it: those whose requirement on the event's event, name or type field
// (keys.go) the event meets, and those that require nothing of them.
// Running every trigger would cost the same per event whatever the event,
// and grow with the number of actions; with the index it grows with the
// number of actions that want this event's name. It is built with the Set,
// which is immutable, so a rules change swaps both at once.
type index struct {
	// by holds, per key field and value, the positions in Set.Actions of
	// the enabled actions indexed by that field and allowing that value,
	// in ascending order. An action sits under one field only (the first
	// of keyFields it has a requirement on), under each value it allows.
	by [numKeyFields]map[string][]int32
	// always holds, in ascending order, the enabled actions whose trigger
	// requires nothing of the key fields: they run on every event.
	always []int32
	// wholeEnv: an enabled action reads $env as a whole (Set.Decode).
	wholeEnv bool
}

// newIndex indexes the enabled actions of a set.
func newIndex(actions []*Compiled) *index {
	x := &index{}
	for i, c := range actions {
		if !c.enabled || c.trigger == nil {
			continue
		}
		x.wholeEnv = x.wholeEnv || c.wholeEnv
		if c.key.field == keyNone {
			x.always = append(x.always, int32(i))
			continue
		}
		m := x.by[c.key.field-1]
		if m == nil {
			m = map[string][]int32{}
			x.by[c.key.field-1] = m
		}
		for _, v := range c.key.values {
			m[v] = append(m[v], int32(i))
		}
	}
	return x
}

// Match appends to dst every enabled action whose trigger matches ev, in the
// set's order, and returns the extended slice. It allocates nothing when dst
// has room. onErr (may be nil) is called for each trigger that failed at run
// time; that action does not match.
//
// Only the triggers the index selects for ev run: the result is the same as
// running every trigger (matchEvery), and a trigger that cannot match ev
// because of its type, event or name is not run, so neither is it counted
// as failed on ev.
func (s *Set) Match(ev *Event, v *vm.VM, dst []*Compiled, onErr func(*Compiled, error)) []*Compiled {
	x := s.idx
	if x == nil { // a Set not made by NewSet: nothing is indexed
		return s.matchEvery(ev, v, dst, onErr)
	}
	// Four ascending lists of positions, each action in at most one of
	// them: merged, they are the candidates in the set's order.
	lists := [numKeyFields + 1][]int32{x.always}
	for f := range numKeyFields {
		if m := x.by[f]; m != nil {
			lists[f+1] = m[keyValue(ev, keyField(f+1))]
		}
	}
	for {
		next := -1
		for l := range lists {
			if len(lists[l]) > 0 && (next < 0 || lists[l][0] < lists[next][0]) {
				next = l
			}
		}
		if next < 0 {
			return dst
		}
		c := s.Actions[lists[next][0]]
		lists[next] = lists[next][1:]
		dst = matchOne(c, ev, v, dst, onErr)
	}
}

// matchEvery is Match running every trigger: what the index must equal.
func (s *Set) matchEvery(ev *Event, v *vm.VM, dst []*Compiled, onErr func(*Compiled, error)) []*Compiled {
	for _, c := range s.Actions {
		dst = matchOne(c, ev, v, dst, onErr)
	}
	return dst
}

// matchOne appends c to dst if its trigger matches ev.
func matchOne(c *Compiled, ev *Event, v *vm.VM, dst []*Compiled, onErr func(*Compiled, error)) []*Compiled {
	ok, err := c.Match(ev, v)
	if err != nil {
		if onErr != nil {
			onErr(c, err)
		}
		return dst
	}
	if ok {
		dst = append(dst, c)
	}
	return dst
}
