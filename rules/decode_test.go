package rules

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookstream/hookstream/internal/deadletter"
)

// readEvents returns the sample CDP events in testdata/events, by file name.
func readEvents(t testing.TB) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob("testdata/events/*.json")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no sample events: %v", err)
	}
	out := make(map[string][]byte, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimSuffix(filepath.Base(p), ".json")] = b
	}
	return out
}

func TestDecodeSampleEvents(t *testing.T) {
	for name, raw := range readEvents(t) {
		t.Run(name, func(t *testing.T) {
			var ev Event
			if err := Decode(raw, 0, &ev); err != nil {
				t.Fatal(err)
			}
			if ev.Type != name {
				t.Errorf("type = %q, want %q", ev.Type, name)
			}
			if ev.MessageID == "" {
				t.Error("messageId not decoded")
			}
		})
	}
}

func TestDecodeFields(t *testing.T) {
	var ev Event
	raw := readEvents(t)["track"]
	if err := Decode(raw, 0, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Event != "Order Completed" || ev.UserID != "user-83412" || ev.Channel != "browser" {
		t.Errorf("top-level fields: %+v", ev)
	}
	if got := ev.Properties["total"]; got != 27.5 {
		t.Errorf("properties.total = %v", got)
	}
	if got := ev.Context["page"].(map[string]any)["path"]; got != "/checkout" {
		t.Errorf("context.page.path = %v", got)
	}
}

func TestDecodeResetsEvent(t *testing.T) {
	var ev Event
	if err := Decode(readEvents(t)["identify"], 0, &ev); err != nil {
		t.Fatal(err)
	}
	if err := Decode([]byte(`{"type":"track","event":"x"}`), 0, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Traits != nil || ev.UserID != nil || ev.MessageID != "" || ev.Event != "x" {
		t.Errorf("fields of the previous event survived: %+v", ev)
	}
	if err := Decode([]byte(`{"type":"track","properties":"oops"}`), 0, &ev); err == nil {
		t.Fatal("want an error")
	}
	if ev.Type != "" || ev.Event != "" {
		t.Errorf("a poison record left fields behind: %+v", ev)
	}
}

func TestDecodePoison(t *testing.T) {
	tests := []struct {
		name   string
		value  string
		max    int
		reason deadletter.Reason
		msg    string // a part of the error text
	}{
		{"too large", `{"type":"track","event":"` + strings.Repeat("x", 100) + `"}`, 64, deadletter.ReasonTooLarge, "over the limit of 64"},
		{"default limit", `{"a":"` + strings.Repeat("x", DefaultMaxEventBytes) + `"}`, 0, deadletter.ReasonTooLarge, "over the limit of 1048576"},
		{"empty", ``, 0, deadletter.ReasonDecode, "empty value"},
		{"only spaces", " \n\t", 0, deadletter.ReasonDecode, "empty value"},
		{"array", `[{"type":"track"}]`, 0, deadletter.ReasonDecode, "not a JSON object"},
		{"string", `"track"`, 0, deadletter.ReasonDecode, "not a JSON object"},
		{"number", `42`, 0, deadletter.ReasonDecode, "not a JSON object"},
		{"null", `null`, 0, deadletter.ReasonDecode, "not a JSON object"},
		{"invalid utf-8", "{\"type\":\"tr\xffck\"}", 0, deadletter.ReasonDecode, "not valid UTF-8 at byte 11"},
		{"truncated", `{"type":"track","properties":{"a":`, 0, deadletter.ReasonDecode, "invalid JSON"},
		{"trailing data", `{"type":"track"} {}`, 0, deadletter.ReasonDecode, "invalid JSON"},
		{"bad literal in unknown field", `{"type":"track","extra":[tru]}`, 0, deadletter.ReasonDecode, "invalid JSON"},
		{"raw newline in string", "{\"type\":\"a\nb\"}", 0, deadletter.ReasonDecode, "invalid JSON"},
		{"properties not an object", `{"type":"track","properties":"pro"}`, 0, deadletter.ReasonDecode, `field "properties": want an object, got string`},
		{"type not a string", `{"type":5}`, 0, deadletter.ReasonDecode, `field "type": want a string, got number`},
		{"traits an array", `{"traits":[1]}`, 0, deadletter.ReasonDecode, `field "traits": want an object, got array`},
		{"number out of range", `{"properties":{"n":1e400}}`, 0, deadletter.ReasonDecode, `field "properties.n"`},
		{"deeply nested", `{"properties":{"a":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}}`, 0, deadletter.ReasonDecode, "invalid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ev Event
			err := Decode([]byte(tt.value), tt.max, &ev)
			var pe *PoisonError
			if !errors.As(err, &pe) {
				t.Fatalf("Decode = %v, want a *PoisonError", err)
			}
			if pe.Reason != tt.reason {
				t.Errorf("reason = %q, want %q", pe.Reason, tt.reason)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not contain %q", err, tt.msg)
			}
		})
	}
}

func TestDecodeAccepts(t *testing.T) {
	tests := []struct {
		name  string
		value string
		check func(*Event) bool
	}{
		{"leading whitespace", " \n{\"type\":\"page\"}", func(ev *Event) bool { return ev.Type == "page" }},
		{"duplicate keys: last wins", `{"type":"page","type":"track"}`, func(ev *Event) bool { return ev.Type == "track" }},
		{"null fields", `{"type":null,"properties":null,"userId":null}`, func(ev *Event) bool { return ev.Properties == nil && ev.UserID == nil }},
		{"numeric user id", `{"userId":12345}`, func(ev *Event) bool { return ev.UserID == 12345.0 }},
		{"escapes", `{"event":"Sign\u0065d \"Up\""}`, func(ev *Event) bool { return ev.Event == `Signed "Up"` }},
		{"huge number in an unknown field", `{"type":"track","x":1e400}`, func(ev *Event) bool { return ev.Type == "track" }},
		{"nested not too deep", `{"properties":{"a":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}}`, func(ev *Event) bool { return ev.Properties["a"] != nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ev Event
			if err := Decode([]byte(tt.value), 0, &ev); err != nil {
				t.Fatal(err)
			}
			if !tt.check(&ev) {
				t.Errorf("decoded %+v", ev)
			}
		})
	}
}

// FuzzDecode checks that no input crashes Decode, that every error is a
// *PoisonError with a known reason, and that whatever Decode accepts is valid
// JSON (it is passed through to endpoints as it came).
func FuzzDecode(f *testing.F) {
	for _, raw := range readEvents(f) {
		f.Add(raw)
	}
	f.Add([]byte(`{"type":"track","properties":{"a":{"b":{"c":[1,2,{"d":null}]}}}}`))
	f.Add([]byte(`{"userId":123456789012345678901234567890,"properties":{"n":-1.5e308}}`))
	f.Add([]byte(`{"type":"a","type":"b","properties":{},"properties":{"x":1}}`))
	f.Add([]byte("{\"type\":\"\xed\xa0\x80\"}"))
	f.Add([]byte(`{"event":"\ud83d\ude00 \u0000"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var ev Event
		err := Decode(data, 4096, &ev)
		if err != nil {
			var pe *PoisonError
			if !errors.As(err, &pe) || (pe.Reason != deadletter.ReasonDecode && pe.Reason != deadletter.ReasonTooLarge) {
				t.Fatalf("error %v is not a poison error", err)
			}
			return
		}
		if !json.Valid(data) {
			t.Fatalf("accepted invalid JSON %q", data)
		}
	})
}
