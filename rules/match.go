package rules

import (
	"fmt"

	"github.com/expr-lang/expr/vm"
)

// TriggerError is a trigger that failed at run time on one event (for example
// `properties.count > 3` where count is a string). The event does not match;
// callers count it.
type TriggerError struct {
	Action string
	Err    error
}

func (e *TriggerError) Error() string {
	return fmt.Sprintf("action %q: trigger: %s", e.Action, exprMessage(e.Err))
}

func (e *TriggerError) Unwrap() error { return e.Err }

// Match evaluates the trigger on ev with the caller's VM (one per goroutine,
// reused: the program is shared, the VM holds the per-run state). A disabled
// action never matches. A run-time error means no match and is returned as a
// *TriggerError.
//
// Match allocates nothing of its own; expr boxes the string fields and map
// members it reads (16 bytes each).
func (c *Compiled) Match(ev *Event, v *vm.VM) (bool, error) {
	if !c.enabled || c.trigger == nil {
		return false, nil
	}
	v.MemoryBudget = c.budget
	ev.steps.reset(c.budget)
	out, err := v.Run(c.trigger, ev)
	if err != nil {
		return false, &TriggerError{Action: c.ID, Err: err}
	}
	ok, _ := out.(bool)
	return ok, nil
}
