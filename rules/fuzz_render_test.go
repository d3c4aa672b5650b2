package rules

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/expr-lang/expr/vm"
)

// hostileEvents are record values meant to break decoding, matching and
// rendering; the fuzz targets start from them and from the sample events.
var hostileEvents = []string{
	`{"type":"track","userId":"../../admin?x=1#f","properties":{"plan":"pro\r\nX-Evil: 1"}}`,
	`{"type":"track","userId":"https://evil.example/","anonymousId":"@evil.example"}`,
	`{"type":"identify","userId":123456789012345678901234567890,"traits":{"email":"A@B.C","n":-1.5e308}}`,
	`{"type":"track","properties":{"n":1e308,"m":-0,"small":5e-324}}`,
	`{"type":"a","type":"track","properties":{},"properties":{"plan":"dup"}}`,
	`{"type":"track","properties":{"a":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}}`,
	`{"type":"track","properties":{"\u0000key":"v","k\u2028":"\ud83d\ude00"}}`,
	`{"type":"track","event":"\u003cscript\u003e","properties":{"list":[1,"x",null,true,{"a":[]}]}}`,
	`{"type":"track","properties":{"items":[{"tags":["a"]},{"tags":null},{"sku":{"x":1}}]}}`,
	`{"type":null,"userId":null,"properties":null,"traits":null,"context":null}`,
	"{\"type\":\"track\",\"properties\":{\"k\xffey\":1}}",
	`{}`,
}

// fuzzActions are compiled once per fuzz run: a nested payload mapping with
// functions that fail on some values, and URL templates in the path and the
// query, one passing events through as they came.
func fuzzActions(t testing.TB) []*Compiled {
	t.Helper()
	acts := []Action{
		{ID: "mapped", Trigger: `type == "track" || type == "identify"`,
			URL: "https://hooks.example.com/u/{{ userId }}/e/{{ event }}?plan={{ properties.plan }}&n={{ properties.n }}",
			Payload: map[string]any{
				"user":  map[string]any{"id": "userId", "email": `lower(traits.email ?? "")`},
				"plan":  "properties.plan",
				"twice": "properties.n * 2",
				"first": "properties.list[0]",
				"count": `count(properties.items ?? [], {.tags != nil})`,
				"tags":  `map(properties.items ?? [], {.tags})`,
				"type":  "type",
				"const": 1.5,
				"props": "properties",
			}},
		{ID: "pass", Trigger: "true", URL: "https://hooks.example.com/{{ type }}/{{ anonymousId ?? messageId }}"},
	}
	out := make([]*Compiled, len(acts))
	for i, a := range acts {
		c, err := Compile(a, Options{})
		if err != nil {
			t.Fatal(err)
		}
		out[i] = c
	}
	return out
}

// FuzzRender feeds record values through Decode, Match and Render of
// mapped and pass-through actions: nothing may panic, every failure must be
// a *TriggerError or a *MappingError (the record is then counted or
// dead-lettered), a body must be valid JSON (a mapped one an object), and
// the URL must keep the template's scheme and host whatever the event holds.
func FuzzRender(f *testing.F) {
	for _, raw := range readEvents(f) {
		f.Add(raw)
	}
	for _, raw := range hostileEvents {
		f.Add([]byte(raw))
	}
	acts := fuzzActions(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		var ev Event
		if err := Decode(raw, 1<<16, &ev); err != nil {
			return // FuzzDecode covers poison records
		}
		var v vm.VM
		for _, c := range acts {
			if _, err := c.Match(&ev, &v); err != nil {
				if _, ok := err.(*TriggerError); !ok {
					t.Fatalf("%s: Match error %v is not a *TriggerError", c.ID, err)
				}
			}
			u, body, err := c.Render(&ev, raw, &v, nil)
			if err != nil {
				if !IsMapping(err) {
					t.Fatalf("%s: Render error %v is not a *MappingError", c.ID, err)
				}
				continue
			}
			if !json.Valid(body) {
				t.Fatalf("%s: body is not JSON: %q", c.ID, body)
			}
			if c.Mapped() && (len(body) == 0 || body[0] != '{') {
				t.Fatalf("%s: mapped body is not an object: %q", c.ID, body)
			}
			if !c.Mapped() && !bytes.Equal(body, raw) {
				t.Fatalf("%s: pass-through body changed", c.ID)
			}
			checkSameOrigin(t, c.URL, u)
		}
	})
}

// checkSameOrigin fails when rendered is not a URL with the scheme and host
// of the template, or carries user info: an event must never choose where
// it is sent.
func checkSameOrigin(t *testing.T, template, rendered string) {
	t.Helper()
	want, err := url.Parse(shapeOf(template))
	if err != nil {
		t.Fatalf("template %q does not parse: %v", template, err)
	}
	got, err := url.Parse(rendered)
	if err != nil {
		t.Fatalf("rendered URL %q does not parse: %v", rendered, err)
	}
	if got.Scheme != want.Scheme || got.Host != want.Host || got.User != nil {
		t.Fatalf("rendered URL %q left %s://%s", rendered, want.Scheme, want.Host)
	}
}

// shapeOf replaces each {{ expr }} of a template with a plain word.
func shapeOf(template string) string {
	var b strings.Builder
	for {
		i := strings.Index(template, "{{")
		if i < 0 {
			break
		}
		j := strings.Index(template[i:], "}}")
		if j < 0 {
			break
		}
		b.WriteString(template[:i])
		b.WriteString("x")
		template = template[i+j+2:]
	}
	b.WriteString(template)
	return b.String()
}

// TestMissingObjectsAreNull checks that a payload leaf reading an object
// field the event does not have writes null (SPEC §2: a missing field is
// nil), as encoding/json writes a nil map or slice, not an empty object.
func TestMissingObjectsAreNull(t *testing.T) {
	a := valid()
	a.Payload = map[string]any{"p": "properties", "t": "traits", "l": "properties.list", "u": "userId"}
	c, err := Compile(a, Options{})
	if err != nil {
		t.Fatal(err)
	}
	raw := []byte(`{"type":"track"}`)
	for name, decode := range map[string]func([]byte, int, *Event) error{"Decode": Decode, "DecodeLazy": DecodeLazy} {
		var ev Event
		if err := decode(raw, 0, &ev); err != nil {
			t.Fatal(err)
		}
		var v vm.VM
		_, body, err := c.Render(&ev, raw, &v, nil)
		if err != nil || string(body) != `{"l":null,"p":null,"t":null,"u":null}` {
			t.Errorf("%s: Render = %s, %v", name, body, err)
		}
	}
	for _, v := range []any{map[string]any(nil), []any(nil)} {
		if got, err := appendJSON(nil, v); err != nil || string(got) != "null" {
			t.Errorf("appendJSON(%#v) = %s, %v; want null like encoding/json", v, got, err)
		}
	}
}
