package rules

import (
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/expr-lang/expr/vm"
)

// exported returns ev's fields with its object fields built and its
// internal state cleared, to compare two decodings.
func exported(ev *Event) Event {
	ev.Load()
	e := *ev
	e.lazy = lazyObjects{}
	e.steps = steps{}
	return e
}

// checkSameDecode checks that DecodeLazy accepts or refuses value exactly
// as Decode does, with the same error and the same fields.
func checkSameDecode(t *testing.T, value []byte, max int) {
	t.Helper()
	var full, lazy Event
	errFull := Decode(value, max, &full)
	errLazy := DecodeLazy(value, max, &lazy)
	if (errFull == nil) != (errLazy == nil) || errFull != nil && errFull.Error() != errLazy.Error() {
		t.Fatalf("Decode = %v, DecodeLazy = %v for %q", errFull, errLazy, value)
	}
	if errLazy != nil {
		var pe *PoisonError
		if !errors.As(errLazy, &pe) {
			t.Fatalf("DecodeLazy error %v is not a *PoisonError", errLazy)
		}
		return
	}
	if f, l := exported(&full), exported(&lazy); !reflect.DeepEqual(f, l) {
		t.Fatalf("for %q\nDecode:     %+v\nDecodeLazy: %+v", value, f, l)
	}
}

var lazyCases = []string{
	`{}`,
	` {"type":"track"} `,
	`{"type":"track","event":"Signed Up","userId":"u1","properties":{"plan":"pro","seats":12,"tags":["a","b"],"nested":{"deep":{"x":1}}},"traits":{"email":"ada@example.com"},"context":{"ip":"10.0.0.7"},"integrations":{"All":true}}`,
	`{"type":null,"properties":null,"userId":null,"traits":{}}`,
	`{"userId":12345,"anonymousId":"a"}`,
	`{"groupId":{"x":1},"previousId":["a"]}`,
	`{"event":"Sign\u0065d \"Up\""}`,
	`{"ty\u0070e":"track"}`,
	`{"Type":"track","EVENT":"x"}`,
	`{"type":"page","type":"track"}`,
	`{"properties":{"a":1},"properties":{"b":2}}`,
	`{"properties":{"n":1e3}}`,
	`{"properties":{"n":1e400}}`,
	`{"properties":{"n":12345678901234567890}}`,
	`{"properties":{"n":-0.5,"m":0,"o":-0}}`,
	`{"x":1e400,"type":"track"}`,
	`{"properties":"pro"}`,
	`{"traits":[1]}`,
	`{"type":5}`,
	`{"type":"track","extra":[tru]}`,
	`{"type":"track"} {}`,
	`{"type":"track",}`,
	`{"type":"tr` + "\n" + `ack"}`,
	`{"properties":{"a":` + strings.Repeat("[", 300) + strings.Repeat("]", 300) + `}}`,
	`{"properties":{"a":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}}`,
	`{"event":"\ud83d\ude00 \u0000","properties":{"s":"\ud800"}}`,
	`{"a":"\x"}`,
	`{"a":"\u12"}`,
	`{"a":01}`,
	`{"a":1.}`,
	`{"a":-}`,
	`{"a" 1}`,
	`{"a":1 "b":2}`,
	`{"context":{"library":{"name":"analytics.js"}},"sentAt":"2026-01-01T00:00:00Z","channel":"web"}`,
}

func TestDecodeLazyAgreesWithDecode(t *testing.T) {
	for name, raw := range readEvents(t) {
		t.Run(name, func(t *testing.T) { checkSameDecode(t, raw, 0) })
	}
	for _, v := range lazyCases {
		t.Run(v[:min(len(v), 40)], func(t *testing.T) { checkSameDecode(t, []byte(v), 0) })
	}
	t.Run("too large", func(t *testing.T) { checkSameDecode(t, []byte(`{"type":"track"}`), 8) })
	t.Run("not utf-8", func(t *testing.T) { checkSameDecode(t, []byte("{\"type\":\"tr\xffck\"}"), 0) })
}

// TestScanTakesSampleEvents makes sure the fast path takes events of the
// usual shape; were it to give up on them, decoding would silently cost
// three times as much.
func TestScanTakesSampleEvents(t *testing.T) {
	for name, raw := range readEvents(t) {
		var ev Event
		if !scanEvent(raw, &ev) {
			t.Errorf("%s: the fast path gave up", name)
		}
	}
	var ev Event
	if !scanEvent(trackEvent, &ev) {
		t.Error("trackEvent: the fast path gave up")
	}
}

func FuzzDecodeLazy(f *testing.F) {
	for _, raw := range readEvents(f) {
		f.Add(raw)
	}
	for _, v := range lazyCases {
		f.Add([]byte(v))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkSameDecode(t, data, 4096) })
}

// TestLazyExpressions runs triggers, URL templates and payloads on events
// decoded both ways; they must see the same event.
func TestLazyExpressions(t *testing.T) {
	const event = `{"type":"track","event":"Order Completed","userId":"u1","properties":{"plan":"pro","total":120,"items":[{"sku":"a"},{"sku":"b"}]},"traits":{"email":"ada@example.com"},"context":{"ip":"10.0.0.7","locale":"de-DE"},"integrations":{"All":false}}`
	triggers := []string{
		`properties.plan == "pro"`,
		`(properties.total ?? 0) > 100 && traits.email endsWith "@example.com"`,
		`$env.properties.plan == "pro"`,
		`$env["traits"]["email"] != nil`,
		`$env?.context?.locale == "de-DE"`,
		`any(properties.items, {.sku == "b"})`,
		`len(properties) == 3 && integrations.All == false`,
		`type == "identify" && traits.plan == "vip"`,
		`properties.missing.deeper == nil`,
		`toJSON(properties) contains "pro"`,
		`$env.type == "track" && $env.userId == "u1"`,
	}
	for _, trig := range triggers {
		t.Run(trig, func(t *testing.T) {
			c, err := Compile(Action{
				ID: "a", Trigger: trig,
				URL:     "https://x.example.com/{{ context.locale }}/{{ userId }}",
				Payload: map[string]any{"plan": "properties.plan", "email": "traits.email", "ip": "$env.context.ip"},
			}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if c.wholeEnv {
				t.Fatalf("marked as using $env as a whole")
			}
			var full, lazy Event
			if err := Decode([]byte(event), 0, &full); err != nil {
				t.Fatal(err)
			}
			if err := DecodeLazy([]byte(event), 0, &lazy); err != nil {
				t.Fatal(err)
			}
			var v vm.VM
			m1, err1 := c.Match(&full, &v)
			m2, err2 := c.Match(&lazy, &v)
			if m1 != m2 || (err1 == nil) != (err2 == nil) {
				t.Errorf("Match: %v, %v decoded fully; %v, %v lazily", m1, err1, m2, err2)
			}
			u1, b1, err1 := c.Render(&full, []byte(event), &v, nil)
			u2, b2, err2 := c.Render(&lazy, []byte(event), &v, nil)
			if u1 != u2 || string(b1) != string(b2) || (err1 == nil) != (err2 == nil) {
				t.Errorf("Render: %q %s %v fully; %q %s %v lazily", u1, b1, err1, u2, b2, err2)
			}
		})
	}
}

// TestLazyBuildsOnlyWhatIsRead shows the point of it all: a trigger that
// stops at type never builds traits.
func TestLazyBuildsOnlyWhatIsRead(t *testing.T) {
	c := mustCompile(t, `type == "identify" && traits.plan == "vip"`)
	var ev Event
	if err := DecodeLazy([]byte(`{"type":"track","traits":{"plan":"vip"},"properties":{"a":1}}`), 0, &ev); err != nil {
		t.Fatal(err)
	}
	var v vm.VM
	if ok, err := c.Match(&ev, &v); ok || err != nil {
		t.Fatalf("Match = %v, %v; want false", ok, err)
	}
	if ev.Traits != nil || ev.lazy.raw[1] == nil {
		t.Errorf("traits built though never read: %v", ev.Traits)
	}
	if err := DecodeLazy([]byte(`{"type":"identify","traits":{"plan":"vip"}}`), 0, &ev); err != nil {
		t.Fatal(err)
	}
	if ok, err := c.Match(&ev, &v); !ok || err != nil {
		t.Fatalf("Match = %v, %v; want true", ok, err)
	}
	if ev.Traits["plan"] != "vip" {
		t.Errorf("traits not built when read: %v", ev.Traits)
	}
}

func TestWholeEnvDecodesFully(t *testing.T) {
	tests := []struct {
		name    string
		action  Action
		whole   bool
		trigger string
	}{
		{"fields", Action{Trigger: `properties.plan == "pro" && $env.type == "track"`}, false, ""},
		{"toJSON of the event", Action{Trigger: `toJSON($env) contains "pro"`}, true, ""},
		{"dynamic field", Action{Trigger: `$env["prop" + "erties"] != nil`}, true, ""},
		{"payload of the event", Action{Trigger: `true`, Payload: map[string]any{"all": "$env"}}, true, ""},
		{"whole event in a loop", Action{Trigger: `any(properties.items, {toJSON($env) != ""})`}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.action
			a.ID, a.URL = "a", "https://x.example.com/"
			c, err := Compile(a, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if c.wholeEnv != tt.whole {
				t.Fatalf("wholeEnv = %v, want %v", c.wholeEnv, tt.whole)
			}
			var ev Event
			if err := NewSet(c).Decode([]byte(`{"type":"track","properties":{"plan":"pro","items":[1]}}`), 0, &ev); err != nil {
				t.Fatal(err)
			}
			if built := ev.Properties != nil; built != tt.whole {
				t.Errorf("properties built at decode: %v, want %v", built, tt.whole)
			}
			var v vm.VM
			if ok, err := c.Match(&ev, &v); !ok || err != nil {
				t.Errorf("Match = %v, %v; want true", ok, err)
			}
		})
	}
}

// TestSetDecodeMatchAllocations: decoding and matching a typical event
// allocates nothing, with triggers that read properties only when their
// first test passes.
func TestSetDecodeMatchAllocations(t *testing.T) {
	set, err := CompileAll([]Action{
		{ID: "orders", Trigger: `type == "track" && event == "Order Completed"`, URL: "https://x.example.com/"},
		{ID: "churn", Trigger: `type == "track" && event == "Subscription Cancelled" && (properties.mrr ?? 0) > 100`, URL: "https://x.example.com/"},
		{ID: "vip", Trigger: `type == "identify" && traits.plan == "vip"`, URL: "https://x.example.com/"},
	}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var ev Event
	var v vm.VM
	dst := make([]*Compiled, 0, 4)
	run := func() {
		if err := set.Decode(trackEvent, 0, &ev); err != nil {
			t.Fatal(err)
		}
		dst = set.Match(&ev, &v, dst[:0], nil)
	}
	run()
	// Nothing is built that no trigger reads, identifiers are boxed only
	// when read, and string comparisons read fields in place.
	if allocs := testing.AllocsPerRun(100, run); allocs != 0 {
		t.Errorf("%v allocations to decode and match, want none", allocs)
	}
	if len(dst) != 1 || dst[0].ID != "orders" {
		t.Errorf("matched %d actions, want orders", len(dst))
	}
}

// TestPlainWord checks the eight-bytes-at-a-time test of the string scanner
// against the plain one, for every byte value at every position.
func TestPlainWord(t *testing.T) {
	for pos := range 8 {
		for c := range 256 {
			w := []byte("abcdefgh")
			w[pos] = byte(c)
			want := !(c == '"' || c == '\\' || c < 0x20)
			if got := plainWord(binary.LittleEndian.Uint64(w)); got != want {
				t.Errorf("plainWord(%q) = %v, want %v", w, got, want)
			}
		}
	}
}
