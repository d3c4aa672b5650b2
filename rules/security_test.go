package rules

import (
	"strings"
	"testing"
	"time"

	"github.com/expr-lang/expr/vm"
)

// TestHeaderInjectionIsRefused checks that no header name or value, as
// written or read from the environment, can carry CR, LF or other control
// bytes into a request, whether the action comes from a rules file or from
// the rules topic, and that the refusal never quotes the value.
func TestHeaderInjectionIsRefused(t *testing.T) {
	const injected = "Bearer t0k\r\nX-Forwarded-For: 10.0.0.1"
	env := map[string]string{"INJECTED": injected, "LF": "a\nb", "NUL": "a\x00b", "DEL": "a\x7fb", "OK": "v1 é"}
	tests := []struct {
		name    string
		headers map[string]string
		want    string // "" = accepted
	}{
		{"CRLF in a value", map[string]string{"X-Team": "a\r\nHost: evil.example"}, "value contains a control character"},
		{"LF alone in a value", map[string]string{"X-Team": "a\nb"}, "value contains a control character"},
		{"NUL in a value", map[string]string{"X-Team": "a\x00b"}, "value contains a control character"},
		{"DEL in a value", map[string]string{"X-Team": "a\x7fb"}, "value contains a control character"},
		{"CRLF in a name", map[string]string{"X-Team\r\nHost": "a"}, `headers."X-Team\r\nHost": want a header name`},
		{"colon in a name", map[string]string{"Host: evil\r\nX": "a"}, `headers."Host: evil\r\nX": want a header name`},
		{"space in a name", map[string]string{"X Team": "a"}, "want a header name"},
		{"non-ASCII name", map[string]string{"X-Tëam": "a"}, "want a header name"},
		{"empty name", map[string]string{"": "a"}, "want a header name"},
		{"CRLF from the environment", map[string]string{"Authorization": "${env:INJECTED}"}, "environment variable INJECTED contains a control character"},
		{"LF from the environment", map[string]string{"X-A": "x${env:LF}"}, "environment variable LF contains a control character"},
		{"NUL from the environment", map[string]string{"X-A": "${env:NUL}"}, "environment variable NUL contains a control character"},
		{"DEL from the environment", map[string]string{"X-A": "${env:DEL}"}, "environment variable DEL contains a control character"},
		{"Host cannot be set", map[string]string{"Host": "evil.example"}, "headers.Host: set by hookstream"},
		{"Content-Length cannot be set", map[string]string{"content-length": "0"}, "set by hookstream"},
		{"signature cannot be forged", map[string]string{"Webhook-Signature": "v1,AAAA"}, "set by hookstream"},
		{"tab and non-ASCII are fine in values", map[string]string{"X-A": "a\tb ${env:OK}"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := valid()
			a.Headers = tt.headers
			c, err := Compile(a, Options{Getenv: func(k string) string { return env[k] }})
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Compile: %v", err)
				}
				for _, kv := range c.Header {
					if hasControl(kv[1]) && !strings.Contains(kv[1], "\t") {
						t.Errorf("header %s resolved to %q", kv[0], kv[1])
					}
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Compile = %v, want %q", err, tt.want)
			}
			if strings.ContainsAny(err.Error(), "\r\n\x00\x7f") {
				t.Errorf("the error holds raw control bytes: %q", err)
			}
			for _, v := range append([]string{injected, "t0k", "v1,AAAA"}, values(tt.headers)...) {
				if len(v) > 1 && strings.Contains(err.Error(), v) {
					t.Errorf("the error quotes the value %q: %v", v, err)
				}
			}
		})
	}
}

func values(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// TestHeaderInjectionFromTheRulesTopic sends the same hostile headers the
// way the rules topic carries them, as JSON escapes.
func TestHeaderInjectionFromTheRulesTopic(t *testing.T) {
	for _, value := range []string{
		`{"id":"a","trigger":"true","url":"https://x.example.com/","headers":{"X-A":"a\r\nHost: evil.example"}}`,
		`{"id":"a","trigger":"true","url":"https://x.example.com/","headers":{"X-A\r\nB":"a"}}`,
		`{"id":"a","trigger":"true","url":"https://x.example.com/","headers":{"X-A":"a\u0000b"}}`,
		`{"id":"a","trigger":"true","url":"https://x.example.com/\r\nHost: evil.example"}`,
		`{"id":"a","trigger":"true","url":"https://x.example.com/{{ userId }}\n"}`,
	} {
		a, err := ParseJSON([]byte(value))
		if err == nil {
			_, err = Compile(a, Options{})
		}
		if err == nil {
			t.Errorf("accepted %s", value)
		}
	}
}

// TestHostileExpressionsAreRefusedOrBounded tries expressions built to
// exhaust the parser, the compiler or the VM: each is refused with a
// message, or compiles and then runs to an answer or a counted error on an
// event with a large array, in little time.
func TestHostileExpressionsAreRefusedOrBounded(t *testing.T) {
	ev := hostileEvent(t)
	tests := []struct {
		name, trigger string
		refused       string // part of the compile error; "" = compiles
		runErr        string // part of the run-time error; "" = runs cleanly
	}{
		{"2,000 nested parentheses", strings.Repeat("(", 2000) + "true" + strings.Repeat(")", 2000), "", ""},
		{"4,000 negations", strings.Repeat("!", 4000) + "true", "exceeds maximum allowed nodes", ""},
		{"1,500 nested arrays", "len(" + strings.Repeat("[", 1500) + strings.Repeat("]", 1500) + ") > 0", "exceeds maximum allowed nodes", ""},
		{"1,000 nested maps", "len(" + strings.Repeat("{a:", 1000) + "1" + strings.Repeat("}", 1000) + ") > 0", "exceeds maximum allowed nodes", ""},
		{"1,500 member accesses", "properties" + strings.Repeat(".a", 1500) + " == 1", "exceeds maximum allowed nodes", ""},
		{"over the byte limit", strings.Repeat("true ? ", 600) + "true" + strings.Repeat(" : false", 600), "over the limit of 4096", ""},
		{"60 nested loops", strings.Repeat("any(properties.a, {", 60) + "# == 1" + strings.Repeat("})", 60), "", "step budget exceeded"},
		{"nested repetition in a regexp", `type matches "a{1000}{1000}"`, "invalid nested repetition", ""},
		{"backtracking-shaped regexp", `type matches "` + strings.Repeat("(a*)*", 150) + `b"`, "", ""},
		{"a billion-element range", `len(1..1000000000) > 0`, "", "memory budget exceeded"},
		{"repeat", `repeat("x", 1e9) != ""`, "repeat() is not allowed", ""},
		{"string doubling through let", `let s = "xx"; let t = s + s; t + t != ""`, "let is not allowed", ""},
		{"division by zero", `1 / (len(properties.a) - 2000) > 0`, "", ""},
		{"integer overflow", `9223372036854775807 + 1 > 0`, "", ""},
		{"index far out of range", `properties.a[9999999999] == nil`, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := valid()
			a.Trigger = tt.trigger
			start := time.Now()
			c, err := Compile(a, Options{})
			if tt.refused != "" {
				if err == nil || !strings.Contains(err.Error(), tt.refused) {
					t.Fatalf("Compile = %v, want an error containing %q", err, tt.refused)
				}
				return
			}
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			var v vm.VM
			_, err = c.Match(ev, &v)
			switch {
			case tt.runErr == "" && err != nil && !strings.Contains(err.Error(), "index out of range"):
				t.Errorf("Match: %v", err)
			case tt.runErr != "" && (err == nil || !strings.Contains(err.Error(), tt.runErr)):
				t.Errorf("Match = %v, want an error containing %q", err, tt.runErr)
			}
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("took %v", took)
			}
		})
	}
}
