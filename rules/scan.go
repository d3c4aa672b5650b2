package rules

import (
	"encoding/binary"
	"unsafe"
)

// The fast path of decoding: one pass over a record value that validates
// the whole of it as JSON and picks out the top-level fields of Event,
// without building the maps of properties, traits, context and
// integrations. Those are kept as byte ranges of the value and decoded only
// if an expression reads them (see lazy.go): most triggers test type or
// event first and never look inside the others.
//
// The scanner handles the common shape of CDP events and nothing else. On
// anything unusual it gives up (ok false) and the caller decodes the value
// the full way, which also produces the exact error of an invalid value.
// So the fast path never accepts what the full decoder refuses, and never
// refuses anything itself. It gives up on:
//
//   - any JSON syntax error, trailing data or nesting deeper than
//     maxScanDepth;
//   - a number with an exponent or of more than maxScanDigits digits
//     (anywhere: one inside properties might not fit a float64 when the map
//     is decoded later);
//   - a top-level key written with escapes or in another case than Event's
//     (the full decoder matches keys case-insensitively);
//   - a string field with escapes, or an identifier field (userId, ...)
//     that is not a string or null;
//   - an object field that is not an object or null, or that appears twice
//     (the full decoder would merge both into one map).

const (
	maxScanDepth  = 256
	maxScanDigits = 15 // every integer of up to 15 digits is exact in a float64
)

// field indexes of the top-level keys the scanner knows.
const (
	fType = iota
	fEvent
	fName
	fMessageID
	fTimestamp
	fOriginalTimestamp
	fSentAt
	fReceivedAt
	fChannel
	fUserID
	fAnonymousID
	fGroupID
	fPreviousID
	fProperties // the object fields, in lazyObject order
	fTraits
	fContext
	fIntegrations
	fUnknown
)

// fieldOf returns the index of a top-level key.
func fieldOf(key []byte) int {
	switch string(key) { // no allocation: the compiler compares in place
	case "type":
		return fType
	case "event":
		return fEvent
	case "name":
		return fName
	case "messageId":
		return fMessageID
	case "timestamp":
		return fTimestamp
	case "originalTimestamp":
		return fOriginalTimestamp
	case "sentAt":
		return fSentAt
	case "receivedAt":
		return fReceivedAt
	case "channel":
		return fChannel
	case "userId":
		return fUserID
	case "anonymousId":
		return fAnonymousID
	case "groupId":
		return fGroupID
	case "previousId":
		return fPreviousID
	case "properties":
		return fProperties
	case "traits":
		return fTraits
	case "context":
		return fContext
	case "integrations":
		return fIntegrations
	}
	return fUnknown
}

// scanEvent fills ev from value by the fast path. It reports false when it
// gave up; ev is then in an unspecified state and must be decoded again.
// Strings in ev refer to value's bytes.
func scanEvent(value []byte, ev *Event) bool {
	s := scanner{b: value, ok: true}
	s.space()
	if !s.byte('{') {
		return false
	}
	s.space()
	if s.peek() == '}' {
		s.i++
		return s.end()
	}
	for {
		ks, ke, esc := s.str()
		if !s.ok || esc {
			return false
		}
		f := fieldOf(value[ks:ke])
		if f == fUnknown && knownFold(value[ks:ke]) {
			return false // the full decoder would take it case-insensitively
		}
		s.space()
		if !s.byte(':') {
			return false
		}
		s.space()
		if !s.field(ev, f) {
			return false
		}
		s.space()
		switch c := s.next(); c {
		case ',':
			s.space()
		case '}':
			return s.end()
		default:
			return false
		}
	}
}

// field reads the value of top-level field f into ev.
func (s *scanner) field(ev *Event, f int) bool {
	switch {
	case f == fUnknown:
		s.value(1)
		return s.ok
	case f >= fProperties:
		i := f - fProperties
		if ev.lazy.set&(1<<i) != 0 {
			return false // written twice
		}
		switch s.peek() {
		case 'n':
			s.literal("null")
		case '{':
			start := s.i
			s.value(1)
			ev.lazy.raw[i] = s.b[start:s.i:s.i]
		default:
			return false
		}
		ev.lazy.set |= 1 << i
		return s.ok
	}
	var str string
	switch s.peek() {
	case 'n':
		s.literal("null")
		if f >= fUserID {
			ev.lazy.setID(f-fUserID, "", false)
		} else {
			setString(ev, f, "")
		}
		return s.ok
	case '"':
		start, end, esc := s.str()
		if !s.ok || esc {
			return false
		}
		if end > start {
			str = unsafe.String(&s.b[start], end-start)
		}
	default:
		return false
	}
	if f >= fUserID {
		ev.lazy.setID(f-fUserID, str, true)
	} else {
		setString(ev, f, str)
	}
	return true
}

func setString(ev *Event, f int, v string) {
	switch f {
	case fType:
		ev.Type = v
	case fEvent:
		ev.Event = v
	case fName:
		ev.Name = v
	case fMessageID:
		ev.MessageID = v
	case fTimestamp:
		ev.Timestamp = v
	case fOriginalTimestamp:
		ev.OriginalTimestamp = v
	case fSentAt:
		ev.SentAt = v
	case fReceivedAt:
		ev.ReceivedAt = v
	case fChannel:
		ev.Channel = v
	}
}

// knownFold reports whether key names a known field in another case.
func knownFold(key []byte) bool {
	for _, k := range [...]string{"type", "event", "name", "messageId", "timestamp", "originalTimestamp", "sentAt",
		"receivedAt", "channel", "userId", "anonymousId", "groupId", "previousId", "properties", "traits", "context",
		"integrations"} {
		if len(k) == len(key) && equalFoldASCII(k, key) {
			return true
		}
	}
	return false
}

func equalFoldASCII(a string, b []byte) bool {
	for i := range len(a) {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// scanner validates JSON. It starts with ok set; once a check fails ok
// stays false and the position is at the end, so every loop stops and the
// caller gives up.
type scanner struct {
	b  []byte
	i  int
	ok bool
}

func (s *scanner) fail() { s.ok = false; s.i = len(s.b) }

func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *scanner) next() byte {
	if s.i < len(s.b) {
		c := s.b[s.i]
		s.i++
		return c
	}
	s.fail()
	return 0
}

func (s *scanner) byte(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	s.fail()
	return false
}

func (s *scanner) space() {
	if s.i < len(s.b) && s.b[s.i] > ' ' {
		return // compact JSON: no whitespace to skip
	}
	s.spaceSlow()
}

func (s *scanner) spaceSlow() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// end checks that only whitespace follows.
func (s *scanner) end() bool {
	s.space()
	return s.ok && s.i == len(s.b)
}

// value validates one JSON value at depth (1 for a top-level field's).
func (s *scanner) value(depth int) {
	if depth > maxScanDepth {
		s.fail()
		return
	}
	switch c := s.peek(); {
	case c == '"':
		s.str()
	case c == '{':
		s.i++
		s.space()
		if s.peek() == '}' {
			s.i++
			return
		}
		for s.ok {
			s.str()
			s.space()
			if !s.byte(':') {
				return
			}
			s.space()
			s.value(depth + 1)
			s.space()
			switch s.next() {
			case ',':
				s.space()
			case '}':
				return
			default:
				s.fail()
			}
		}
	case c == '[':
		s.i++
		s.space()
		if s.peek() == ']' {
			s.i++
			return
		}
		for s.ok {
			s.value(depth + 1)
			s.space()
			switch s.next() {
			case ',':
				s.space()
			case ']':
				return
			default:
				s.fail()
			}
		}
	case c == 't':
		s.literal("true")
	case c == 'f':
		s.literal("false")
	case c == 'n':
		s.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		s.number()
	default:
		s.fail()
	}
}

func (s *scanner) literal(lit string) {
	if len(s.b)-s.i >= len(lit) && string(s.b[s.i:s.i+len(lit)]) == lit {
		s.i += len(lit)
		return
	}
	s.fail()
}

// number validates a number without an exponent and of at most
// maxScanDigits digits; anything else makes the scanner give up.
func (s *scanner) number() {
	if s.peek() == '-' {
		s.i++
	}
	digits := 0
	switch c := s.peek(); {
	case c == '0':
		s.i++
		digits++
	case c >= '1' && c <= '9':
		for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
			s.i++
			digits++
		}
	default:
		s.fail()
		return
	}
	if s.peek() == '.' {
		s.i++
		frac := 0
		for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
			s.i++
			frac++
		}
		if frac == 0 {
			s.fail()
			return
		}
		digits += frac
	}
	if c := s.peek(); c == 'e' || c == 'E' || digits > maxScanDigits {
		s.fail()
	}
}

// str validates a string and returns the range of its contents and
// whether it has escapes. The value is valid UTF-8 already; control
// characters must be escaped.
func (s *scanner) str() (start, end int, escaped bool) {
	if !s.byte('"') {
		return 0, 0, false
	}
	start = s.i
	b := s.b
	i := s.i
	// Eight bytes at a time while none of them is a quote, a backslash or
	// a control character; then byte by byte.
	for i+8 <= len(b) && plainWord(binary.LittleEndian.Uint64(b[i:])) {
		i += 8
	}
	for ; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			s.i = i + 1
			return start, i, escaped
		case c == '\\':
			escaped = true
			i++
			if i >= len(b) {
				s.fail()
				return 0, 0, false
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(b) || !isHex(b[i+1]) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) {
					s.fail()
					return 0, 0, false
				}
				i += 4
			default:
				s.fail()
				return 0, 0, false
			}
		case c < 0x20:
			s.fail()
			return 0, 0, false
		}
	}
	s.fail()
	return 0, 0, false
}

// plainWord reports whether none of the eight bytes of w is '"', '\\' or
// below 0x20 (the usual bit tricks: a byte of x - 0x01..01 has its top bit
// set where x had a zero byte, or a byte under the subtracted value).
func plainWord(w uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	quote := w ^ (ones * '"')
	slash := w ^ (ones * '\\')
	found := (quote - ones) & ^quote
	found |= (slash - ones) & ^slash
	found |= (w - ones*0x20) & ^w
	return found&highs == 0
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
