package rules

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/expr-lang/expr/vm"
)

func compileAction(t testing.TB, a Action) *Compiled {
	t.Helper()
	c, err := Compile(a, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRenderURL(t *testing.T) {
	const ev = `{"type":"track","userId":"ada lovelace/1?x=1&y=2#f","anonymousId":42,"properties":{"n":12345678901,"f":0.5,"big":1e21,"ok":true,"obj":{"a":1},"list":[1]}}`
	tests := []struct {
		name, url, want string
	}{
		{"no template", "https://x.example.com/hooks?a=1", "https://x.example.com/hooks?a=1"},
		{"path segment escaped", "https://x.example.com/u/{{ userId }}", "https://x.example.com/u/ada%20lovelace%2F1%3Fx=1&y=2%23f"},
		{"query value escaped", "https://x.example.com/in?user={{ userId }}&v=1", "https://x.example.com/in?user=ada+lovelace%2F1%3Fx%3D1%26y%3D2%23f&v=1"},
		{"integral number without exponent", "https://x.example.com/{{ properties.n }}/{{ anonymousId }}", "https://x.example.com/12345678901/42"},
		{"fraction", "https://x.example.com/{{ properties.f }}", "https://x.example.com/0.5"},
		{"large number", "https://x.example.com/{{ properties.big }}", "https://x.example.com/1e+21"},
		{"bool", "https://x.example.com/{{ properties.ok }}", "https://x.example.com/true"},
		{"nil is empty", "https://x.example.com/u/{{ properties.missing.x }}/end", "https://x.example.com/u//end"},
		{"expression", "https://x.example.com/{{ upper(type) }}-{{ properties.n > 1 ? 'big' : 'small' }}", "https://x.example.com/TRACK-big"},
		{"several", "https://x.example.com/{{type}}/{{ properties.ok }}?q={{ type }}", "https://x.example.com/track/true?q=track"},
	}
	var v vm.VM
	e := decodeString(t, ev)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := valid()
			a.URL = tt.url
			c := compileAction(t, a)
			url, _, err := c.Render(e, nil, &v, nil)
			if err != nil {
				t.Fatal(err)
			}
			if url != tt.want {
				t.Errorf("url = %s\n want %s", url, tt.want)
			}
		})
	}
}

func TestRenderURLErrors(t *testing.T) {
	var v vm.VM
	e := decodeString(t, `{"type":"track","properties":{"obj":{"a":1},"list":[1],"s":"x"}}`)
	for _, tmpl := range []string{
		"https://x.example.com/{{ properties.obj }}",
		"https://x.example.com/{{ properties.list }}",
		"https://x.example.com/{{ properties.s.x }}",
		"https://x.example.com/{{ 1 / 0 }}",
	} {
		a := valid()
		a.URL = tmpl
		c := compileAction(t, a)
		_, _, err := c.Render(e, nil, &v, nil)
		var me *MappingError
		if !errors.As(err, &me) || me.Field != "url" || me.Action != "a" || !IsMapping(err) {
			t.Errorf("%s: Render error = %v, want a *MappingError on url", tmpl, err)
		}
	}
}

func TestRenderPassThrough(t *testing.T) {
	raw := []byte(`{"type":"track","event":"x","extra":{"kept":true}}`)
	c := compileAction(t, valid())
	var v vm.VM
	url, body, err := c.Render(decodeString(t, string(raw)), raw, &v, make([]byte, 0, 64))
	if err != nil {
		t.Fatal(err)
	}
	if url != "https://hooks.example.com/in" {
		t.Errorf("url = %s", url)
	}
	if &body[0] != &raw[0] || len(body) != len(raw) {
		t.Error("without payload the body must be raw itself, not a copy")
	}
}

func TestRenderPayload(t *testing.T) {
	const ev = `{"type":"track","event":"Signed Up","userId":"u1","properties":{"plan":"pro","seats":3,"note":"line\nbreak \"quoted\" <b>","items":[{"sku":"a","price":2.5},{"sku":"b","price":1}]},"traits":{"email":"ADA@example.com"}}`
	tests := []struct {
		name    string
		payload map[string]any
		want    string
	}{
		{"flat, keys sorted", map[string]any{"userId": "userId", "event": "event", "plan": "properties.plan"},
			`{"event":"Signed Up","plan":"pro","userId":"u1"}`},
		{"nil leaf is null", map[string]any{"coupon": "properties.coupon", "deep": "properties.a.b.c"},
			`{"coupon":null,"deep":null}`},
		{"nested maps", map[string]any{"user": map[string]any{"id": "userId", "contact": map[string]any{"email": "lower(traits.email)"}}},
			`{"user":{"contact":{"email":"ada@example.com"},"id":"u1"}}`},
		{"numbers, bools, constants", map[string]any{"seats": "properties.seats", "double": "properties.seats * 2", "half": "properties.seats / 2", "pro": `properties.plan == "pro"`, "v": 2, "on": true, "none": nil},
			`{"double":6,"half":1.5,"none":null,"on":true,"pro":true,"seats":3,"v":2}`},
		{"strings escaped", map[string]any{"note": "properties.note"},
			`{"note":"line\nbreak \"quoted\" <b>"}`},
		{"objects and arrays from the event", map[string]any{"items": "properties.items", "skus": "map(properties.items, .sku)", "props": "properties"},
			`{"items":[{"price":2.5,"sku":"a"},{"price":1,"sku":"b"}],"props":{"items":[{"price":2.5,"sku":"a"},{"price":1,"sku":"b"}],"note":"line\nbreak \"quoted\" \u003cb\u003e","plan":"pro","seats":3},"skus":["a","b"]}`},
		{"map literal", map[string]any{"m": `{"a": userId, "b": [1, nil]}`},
			`{"m":{"a":"u1","b":[1,null]}}`},
		{"odd keys", map[string]any{"with \"quote\"": "1", "ünï": "2"},
			`{"with \"quote\"":1,"ünï":2}`},
	}
	var v vm.VM
	e := decodeString(t, ev)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := valid()
			a.Payload = tt.payload
			c := compileAction(t, a)
			_, body, err := c.Render(e, []byte(ev), &v, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(body) {
				t.Fatalf("invalid JSON: %s", body)
			}
			if !jsonEqual(t, body, []byte(tt.want)) {
				t.Errorf("body = %s\n want %s", body, tt.want)
			}
		})
	}
}

// jsonEqual compares two JSON documents by value.
func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return string(xb) == string(yb)
}

func TestRenderPayloadDeterministic(t *testing.T) {
	a := valid()
	a.Payload = map[string]any{"z": "1", "a": "2", "m": map[string]any{"y": "3", "b": "traits"}}
	c := compileAction(t, a)
	e := decodeString(t, `{"traits":{"k3":1,"k1":2,"k2":3}}`)
	var v vm.VM
	_, first, err := c.Render(e, nil, &v, nil)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"a":2,"m":{"b":{"k1":2,"k2":3,"k3":1},"y":3},"z":1}`
	if string(first) != want {
		t.Errorf("body = %s, want %s", first, want)
	}
}

func TestRenderPayloadReusesBuffer(t *testing.T) {
	a := valid()
	a.Payload = map[string]any{"id": "userId"}
	c := compileAction(t, a)
	e := decodeString(t, `{"userId":"u1"}`)
	var v vm.VM
	buf := make([]byte, 3, 256)
	_, body, err := c.Render(e, nil, &v, buf)
	if err != nil {
		t.Fatal(err)
	}
	if string(body) != `{"id":"u1"}` || &body[0] != &buf[0] {
		t.Errorf("body %q not appended to buf[:0]", body)
	}
}

func TestRenderPayloadErrors(t *testing.T) {
	tests := []struct {
		name    string
		payload map[string]any
		field   string
	}{
		{"run-time error", map[string]any{"user": map[string]any{"n": "properties.s.x"}}, "payload.user.n"},
		{"NaN", map[string]any{"x": "properties.zero / properties.zero"}, "payload.x"},
		{"infinity", map[string]any{"x": "1 / properties.zero"}, "payload.x"},
	}
	var v vm.VM
	e := decodeString(t, `{"properties":{"s":"text","zero":0}}`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := valid()
			a.Payload = tt.payload
			c := compileAction(t, a)
			_, _, err := c.Render(e, nil, &v, nil)
			var me *MappingError
			if !errors.As(err, &me) || me.Field != tt.field || me.Action != "a" {
				t.Fatalf("Render error = %#v, want a *MappingError on %s", err, tt.field)
			}
			if !strings.HasPrefix(err.Error(), `action "a": `+tt.field+": ") {
				t.Errorf("message %q", err)
			}
		})
	}
}

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	values := []any{
		nil, true, false, "", "plain", "quote\" back\\slash", "ctl \x00\x01\x1f\t\r\n", "html <&>", "\u2028\u2029", "日本語 🚀",
		0.0, 1.0, -1.5, 1e20, 1e21, 1e-6, 1e-7, 123456789.125, math.MaxFloat64, math.SmallestNonzeroFloat64, math.Copysign(0, -1),
		42, int64(-7), []any{1.0, "a", nil}, []string{"x", "y"}, map[string]any{"b": 1.0, "a": map[string]any{"z": []any{}}},
		map[string]string{"k": "v"},
	}
	for _, val := range values {
		got, err := appendJSON(nil, val)
		if err != nil {
			t.Fatalf("%#v: %v", val, err)
		}
		want, err := json.Marshal(val)
		if err != nil {
			t.Fatal(err)
		}
		// encoding/json escapes HTML; hookstream does not need to.
		want = []byte(strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(string(want)))
		if string(got) != string(want) {
			t.Errorf("%#v:\n got %s\nwant %s", val, got, want)
		}
	}
	if got := string(appendJSONString(nil, "bad \xff utf8")); got != `"bad \ufffd utf8"` {
		t.Errorf("invalid UTF-8 written as %s", got)
	}
	for _, f := range []float64{math.NaN(), math.Inf(1)} {
		if _, err := appendJSON(nil, f); err == nil {
			t.Errorf("%v: want an error", f)
		}
	}
}
