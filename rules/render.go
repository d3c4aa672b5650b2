package rules

import (
	"errors"
	"fmt"

	"github.com/expr-lang/expr/vm"
)

// MappingError is an event the action matched but cannot shape: a URL
// template or payload expression failed on it, or yielded a value with no URL
// or JSON form. The caller dead-letters the record with reason "mapping".
type MappingError struct {
	Action string // action id
	Field  string // "url" or the payload leaf, as "payload.user.email"
	Err    error
}

func (e *MappingError) Error() string {
	return fmt.Sprintf("action %q: %s: %v", e.Action, e.Field, e.Err)
}

func (e *MappingError) Unwrap() error { return e.Err }

// Render returns the resolved URL and the body bytes for one event: raw as it
// came when the action has no payload, else the mapped object as JSON
// (appended to buf[:0], which may be reused). A URL without {{ }} is returned
// as written and raw is returned as is, so neither allocates. An error is a
// *MappingError.
//
// The body may alias raw or buf: a caller that keeps it beyond the next reuse
// of either must copy it.
func (c *Compiled) Render(ev *Event, raw []byte, v *vm.VM, buf []byte) (url string, body []byte, err error) {
	// One step budget for the URL and the payload together.
	ev.steps.reset(c.budget)
	if c.url.raw == "" { // not built by Compile
		url = c.URL
	} else if url, err = c.url.render(ev, v, c.budget); err != nil {
		return "", nil, &MappingError{Action: c.ID, Field: "url", Err: err}
	}
	if c.payload == nil {
		return url, raw, nil
	}
	body, path, err := c.payload.appendTo(buf[:0], ev, v, c.budget)
	if err != nil {
		return "", nil, &MappingError{Action: c.ID, Field: path, Err: err}
	}
	return url, body, nil
}

// IsMapping reports whether err is a *MappingError.
func IsMapping(err error) bool {
	var me *MappingError
	return errors.As(err, &me)
}
