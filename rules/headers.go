package rules

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// Headers hookstream sets itself; an action may not set them.
var reservedHeaders = map[string]bool{
	"content-length":    true,
	"transfer-encoding": true,
	"connection":        true,
	"host":              true,
	"x-signature":       true,
	"idempotency-key":   true,
	"webhook-id":        true,
	"webhook-timestamp": true,
	"webhook-signature": true,
}

// resolveHeaders checks header names and values and replaces "${env:NAME}" in
// values through opt.Getenv. Messages name the header and the variable,
// never a value: header values are where tokens live.
func resolveHeaders(h map[string]string, opt Options, add func(field, value, msg string)) [][2]string {
	if len(h) == 0 {
		return nil
	}
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	slices.Sort(names)
	out := make([][2]string, 0, len(h))
	seen := make(map[string]string, len(h))
	for _, name := range names {
		field := "headers." + name
		switch lower := strings.ToLower(name); {
		case !validToken(name):
			if hasControl(name) || !utf8.ValidString(name) {
				// CR, LF and the like must not reach a log line or a
				// terminal as they are.
				field = "headers." + quoted(name)
			}
			add(field, "", "want a header name (letters, digits and !#$%&'*+-.^_`|~)")
			continue
		case reservedHeaders[lower]:
			add(field, "", "set by hookstream, not by an action")
			continue
		case seen[lower] != "":
			add(field, "", "same header as "+seen[lower])
			continue
		default:
			seen[lower] = name
		}
		tmpl := h[name]
		if hasControl(tmpl) {
			add(field, "", "value contains a control character (CR, LF, NUL...)")
			continue
		}
		val, ok := expandEnv(tmpl, opt, func(msg string) { add(field, "", msg) })
		if !ok {
			continue
		}
		out = append(out, [2]string{name, val})
	}
	return out
}

// expandEnv replaces each "${env:NAME}" in s. It reports (through fail) a
// malformed reference, a variable that is not set, or a value with a control
// character, naming only the variable.
func expandEnv(s string, opt Options, fail func(msg string)) (string, bool) {
	const open = "${env:"
	if !strings.Contains(s, open) {
		return s, true
	}
	var b strings.Builder
	ok := true
	for {
		i := strings.Index(s, open)
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		rest := s[i+len(open):]
		j := strings.IndexByte(rest, '}')
		if j < 0 {
			fail(`unclosed "${env:"`)
			return "", false
		}
		name := rest[:j]
		s = rest[j+1:]
		if !validEnvName(name) {
			fail("${env:" + name + "}: want an environment variable name")
			ok = false
			continue
		}
		switch val := opt.getenv(name); {
		case val == "":
			fail("environment variable " + name + " is not set or empty")
			ok = false
		case hasControl(val):
			fail("environment variable " + name + " contains a control character")
			ok = false
		default:
			b.WriteString(val)
		}
	}
	return b.String(), ok
}

// validEnvName reports whether s is [A-Za-z_][A-Za-z0-9_]*.
func validEnvName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// validToken reports whether s is an HTTP token (RFC 9110 §5.6.2).
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}

// hasControl reports whether s holds a byte a header value may not contain:
// a control character other than horizontal tab, or DEL.
func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return true
		}
	}
	return false
}
