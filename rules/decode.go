package rules

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"unicode/utf8"

	json "github.com/goccy/go-json"
	"github.com/hookstream/hookstream/internal/deadletter"
)

// Decode fills ev from a record value. It returns a *PoisonError when the value
// is larger than maxBytes (maxBytes <= 0 means DefaultMaxEventBytes), is not
// valid UTF-8, or is not one JSON object in the CDP shape (a known field of the
// wrong type, such as a string "properties", is refused too). ev is reset
// first, so it can be reused.
//
// Decoding is the largest CPU cost per event, so it runs once per record and
// every trigger of every action reads the same *Event. goccy/go-json is used
// for speed; it validates the whole value, including the fields Event does not
// keep, so a pass-through body is always valid JSON. Decode never panics: a
// decoder failure is reported as a poison record, never a crash.
//
// Strings are not copied: a string without escapes in ev (a field, a map key
// or value) refers to the bytes of value, which halves the allocations of a
// decode. So value must not be modified while ev, or a URL rendered from it,
// is in use, and such a string keeps value alive. Kafka record values are
// never modified once fetched, so records are decoded in place.
func Decode(value []byte, maxBytes int, ev *Event) (err error) {
	*ev = Event{}
	if err := precheck(value, maxBytes); err != nil {
		return err
	}
	defer func() {
		if r := recover(); r != nil {
			*ev = Event{}
			err = &PoisonError{Reason: deadletter.ReasonDecode, Err: fmt.Errorf("invalid JSON: %v", r)}
		}
	}()
	if err := json.UnmarshalOf(value, ev, json.DecodeNoCopyString()); err != nil {
		*ev = Event{}
		return &PoisonError{Reason: deadletter.ReasonDecode, Err: describeJSONError(err)}
	}
	return nil
}

// precheck refuses a value that is too large, not UTF-8 or not a JSON
// object, before any decoding.
func precheck(value []byte, maxBytes int) error {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxEventBytes
	}
	if len(value) > maxBytes {
		return &PoisonError{Reason: deadletter.ReasonTooLarge, Err: fmt.Errorf("value of %d bytes is over the limit of %d", len(value), maxBytes)}
	}
	if !utf8.Valid(value) {
		return &PoisonError{Reason: deadletter.ReasonDecode, Err: fmt.Errorf("not valid UTF-8 at byte %d", invalidUTF8At(value))}
	}
	if i := firstNonSpace(value); i == len(value) {
		return &PoisonError{Reason: deadletter.ReasonDecode, Err: errors.New("empty value, want a JSON object")}
	} else if value[i] != '{' {
		return &PoisonError{Reason: deadletter.ReasonDecode, Err: fmt.Errorf("not a JSON object: starts with %q", value[i])}
	}
	return nil
}

// firstNonSpace returns the index of the first byte that is not JSON
// whitespace, or len(b).
func firstNonSpace(b []byte) int {
	for i, c := range b {
		switch c {
		case ' ', '\t', '\n', '\r':
		default:
			return i
		}
	}
	return len(b)
}

// invalidUTF8At returns the offset of the first invalid UTF-8 sequence.
func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return len(b)
}

// describeJSONError turns a decoder error into a message that says what is
// wrong and where.
func describeJSONError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if strings.HasPrefix(te.Value, "number ") {
			return fmt.Errorf("field %q: %s is out of range", te.Field, te.Value)
		}
		return fmt.Errorf("field %q: want %s, got %s", te.Field, kindName(te.Type), te.Value)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("invalid JSON at byte %d: %s", se.Offset, strings.TrimPrefix(se.Error(), "json: "))
	}
	return fmt.Errorf("invalid JSON: %w", err)
}

// kindName names the JSON kind a Go type wants.
func kindName(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Bool:
		return "a boolean"
	case reflect.Float32, reflect.Float64, reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint, reflect.Uint64:
		return "a number"
	}
	return t.String()
}
