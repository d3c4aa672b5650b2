package rules

import (
	"errors"
	"sync/atomic"

	"github.com/expr-lang/expr/vm"
)

// Options are the inputs to compilation that come from outside the rule.
type Options struct {
	// Getenv resolves "${env:NAME}" in headers and secret_env. Nil means an
	// empty environment. Only cmd passes os.Getenv.
	Getenv func(string) string
}

// Compiled is an action ready to run: defaults filled in, expressions compiled
// once, headers and secrets resolved. It is immutable and safe to share
// between goroutines; each goroutine brings its own *vm.VM.
type Compiled struct {
	Action              // defaults filled in
	Header  [][2]string // resolved static headers, in file order
	Secrets [][]byte    // from SecretEnv (space-separated); nil = unsigned
}

// Batched reports whether the action gathers events into arrays.
func (c *Compiled) Batched() bool { return c.Batch != nil }

// Match evaluates the trigger on ev. A run-time error means no match.
func (c *Compiled) Match(ev *Event, v *vm.VM) (bool, error) {
	return false, errors.New("TODO")
}

// Render returns the resolved URL and the body bytes for one event: raw as it
// came when the action has no payload, else the mapped object as JSON
// (appended to buf[:0], which may be reused).
func (c *Compiled) Render(ev *Event, raw []byte, v *vm.VM, buf []byte) (url string, body []byte, err error) {
	return "", nil, errors.New("TODO")
}

// Compile validates a and compiles its expressions.
func Compile(a Action, opt Options) (*Compiled, error) { return nil, errors.New("TODO") }

// Set is one immutable version of all actions.
type Set struct {
	Actions []*Compiled // enabled and disabled; Match skips disabled ones
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
