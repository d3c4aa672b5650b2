package integration

import (
	"encoding/json"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestHostileRulesAreCountedNotFatal runs actions whose trigger fails on
// some events, whose loops would run for hours on one event, and whose
// mapping fails on some events, next to a plain action: failed triggers are
// counted (the event does not match), failed mappings are dead-lettered
// with reason mapping, and everything else is delivered and committed.
func TestHostileRulesAreCountedNotFatal(t *testing.T) {
	rv := startReceiver(t, nil)
	c := startCluster(t, 1, "events")
	w := startWorker(t, c, "g-hostile-rules", rulesFor(`actions:
- id: plain
  trigger: "true"
  url: URL/plain
- id: typed
  trigger: properties.count > 3
  url: URL/typed
- id: quadratic
  trigger: any(properties.a ?? [], {any(properties.a, {# == 1})})
  url: URL/quadratic
- id: mapped
  trigger: type == "track"
  url: URL/mapped
  payload:
    name: upper(properties.name)
`, rv.URL), nil, "--commit-interval", "100ms")
	big := `[` + strings.TrimSuffix(strings.Repeat("0,", 5000), ",") + `]`
	values := []string{
		`{"type":"track","messageId":"m-0","properties":{"count":5,"name":"ada"}}`,        // typed, mapped
		`{"type":"track","messageId":"m-1","properties":{"count":"five","name":"bob"}}`,   // typed fails
		`{"type":"track","messageId":"m-2","properties":{"count":1,"name":42}}`,           // mapping fails
		`{"type":"track","messageId":"m-3","properties":{"count":9,"a":` + big + `}}`,     // quadratic stopped; upper(nil) fails
		`{"type":"identify","messageId":"m-4","properties":{"count":[1],"name":"carol"}}`, // typed fails
	}
	start := time.Now()
	for _, v := range values {
		c.Produce(t, &kgo.Record{Topic: "events", Value: []byte(v)})
	}
	rv.waitFor(t, "every event to the plain action", func(reqs []request) bool {
		n := 0
		for _, r := range reqs {
			if r.Path == "/plain" {
				n++
			}
		}
		return n == len(values)
	})
	waitCommitted(t, c, "g-hostile-rules", map[int32]int64{0: 5})
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("five events took %v: a hostile rule held the partition", took)
	}
	paths := map[string][]string{}
	for _, r := range rv.requests() {
		var ev struct {
			MessageID string `json:"messageId"`
			Name      string `json:"name"`
		}
		if err := json.Unmarshal(r.Body, &ev); err != nil {
			t.Fatalf("%s: %v", r.Path, err)
		}
		paths[r.Path] = append(paths[r.Path], ev.MessageID+ev.Name)
	}
	want := map[string][]string{
		"/plain":  {"m-0", "m-1", "m-2", "m-3", "m-4"},
		"/typed":  {"m-0", "m-3"},
		"/mapped": {"ADA", "BOB"},
	}
	for p, ids := range want {
		if fmt.Sprint(paths[p]) != fmt.Sprint(ids) {
			t.Errorf("%s got %v, want %v", p, paths[p], ids)
		}
	}
	if len(paths["/quadratic"]) != 0 {
		t.Errorf("the quadratic trigger matched: %v", paths["/quadratic"])
	}
	errs := map[string]float64{"typed": 2, "quadratic": 1}
	for action, n := range errs {
		if got := w.counter("hookstream_trigger_errors_total", `action="`+action+`"`); got != n {
			t.Errorf("hookstream_trigger_errors_total{action=%q} = %v, want %v", action, got, n)
		}
	}
	dls := c.Read(t, "hookstream.dlq", 2)
	for i, offset := range []string{"2", "3"} {
		dl := dls[i]
		if header(dl, "hookstream-reason") != "mapping" || header(dl, "hookstream-action") != "mapped" || header(dl, "hookstream-source-offset") != offset {
			t.Errorf("dead letter %d: reason %q action %q offset %q", i, header(dl, "hookstream-reason"),
				header(dl, "hookstream-action"), header(dl, "hookstream-source-offset"))
		}
		if msg := header(dl, "hookstream-error"); !strings.Contains(msg, "payload.name") {
			t.Errorf("hookstream-error %q does not name the payload field", msg)
		}
	}
	if code := w.stop(t, syscall.SIGTERM); code != 0 {
		t.Errorf("exit %d", code)
	}
}

// TestHostileEventsEndToEnd sends the record values that trouble JSON
// decoders through a worker with a pass-through and a mapped action. Each
// ends either delivered (to both, the pass-through body byte for byte as
// it came) or dead-lettered once with reason decode; never a crash, never
// a stall.
func TestHostileEventsEndToEnd(t *testing.T) {
	rv := startReceiver(t, nil)
	c := startCluster(t, 1, "events")
	w := startWorker(t, c, "g-hostile-events", rulesFor(`actions:
- id: pass
  trigger: type == "track"
  url: URL/pass
- id: mapped
  trigger: type == "track"
  url: URL/mapped
  payload:
    id: messageId
    user: userId
    props: properties
`, rv.URL), nil, "--commit-interval", "100ms")
	nest := func(open, closing string, n int) string {
		return strings.Repeat(open, n) + "1" + strings.Repeat(closing, n)
	}
	tests := []struct {
		name   string
		value  string
		reason string // "" = delivered
		mapped string // the mapped body, when delivered
	}{
		{"nested 100 deep", `{"type":"track","messageId":"n100","properties":{"a":` + nest("[", "]", 100) + `}}`, "",
			`{"id":"n100","props":{"a":` + nest("[", "]", 100) + `},"user":null}`},
		{"nested 20000 deep in properties", `{"type":"track","messageId":"n20k","properties":{"a":` + nest("[", "]", 20000) + `}}`, "decode", ""},
		{"nested 20000 deep in an unknown field", `{"type":"track","messageId":"u20k","x":` + nest(`{"a":`, "}", 20000) + `}`, "decode", ""},
		{"huge number in properties", `{"type":"track","messageId":"big","properties":{"n":1e400}}`, "decode", ""},
		{"huge number in an unknown field", `{"type":"track","messageId":"bigx","x":1e400,"properties":{"n":1}}`, "",
			`{"id":"bigx","props":{"n":1},"user":null}`},
		{"huge integer user id", `{"type":"track","messageId":"bigid","userId":123456789012345678901234567890}`, "",
			`{"id":"bigid","props":null,"user":1.2345678901234568e+29}`},
		{"duplicate keys: the last wins", `{"type":"identify","type":"track","messageId":"dup","messageId":"dup2"}`, "",
			`{"id":"dup2","props":null,"user":null}`},
		{"duplicate objects are merged", `{"type":"track","messageId":"merge","properties":{"a":1},"properties":{"b":2}}`, "",
			`{"id":"merge","props":{"a":1,"b":2},"user":null}`},
		{"invalid UTF-8 in a key", "{\"type\":\"track\",\"messageId\":\"k\",\"properties\":{\"k\xffey\":1}}", "decode", ""},
		{"invalid UTF-8 in a top-level key", "{\"t\xc3pe\":\"track\",\"messageId\":\"tk\"}", "decode", ""},
		{"lone surrogate escape in a key", `{"type":"track","messageId":"sur","properties":{"\ud800":1}}`, "",
			`{"id":"sur","props":{"` + "\ufffd" + `":1},"user":null}`},
		{"NUL and line separator in keys", `{"type":"track","messageId":"nul","properties":{"\u0000":1,"\u2028":2}}`, "",
			`{"id":"nul","props":{"\u0000":1,"\u2028":2},"user":null}`},
	}
	for _, tt := range tests {
		c.Produce(t, &kgo.Record{Topic: "events", Key: []byte(tt.name), Value: []byte(tt.value)})
	}
	c.Produce(t, &kgo.Record{Topic: "events", Value: trackEvent(99, "After")})
	rv.waitFor(t, "the event after the hostile ones", func(reqs []request) bool {
		for _, r := range reqs {
			if r.Path == "/pass" && strings.Contains(string(r.Body), `"messageId":"m-99"`) {
				return true
			}
		}
		return false
	})
	waitCommitted(t, c, "g-hostile-events", map[int32]int64{0: int64(len(tests) + 1)})

	byKey := map[string]*kgo.Record{}
	var dead int
	for _, tt := range tests {
		if tt.reason != "" {
			dead++
		}
	}
	for _, dl := range c.Read(t, "hookstream.dlq", dead) {
		if byKey[string(dl.Key)] != nil {
			t.Errorf("%s: dead-lettered twice", dl.Key)
		}
		byKey[string(dl.Key)] = dl
	}
	reqs := rv.requests()
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var pass, mapped []request
			for _, r := range reqs {
				switch {
				case r.Path == "/pass" && string(r.Body) == tt.value:
					pass = append(pass, r)
				case r.Path == "/mapped" && tt.mapped != "" && jsonSame(r.Body, tt.mapped):
					mapped = append(mapped, r)
				}
			}
			dl := byKey[tt.name]
			if tt.reason != "" {
				if dl == nil || header(dl, "hookstream-reason") != tt.reason || string(dl.Value) != tt.value {
					t.Fatalf("want one dead letter with reason %s and the record's value; got %v", tt.reason, dl != nil)
				}
				if header(dl, "hookstream-error") == "" || header(dl, "hookstream-source-offset") != fmt.Sprint(i) {
					t.Errorf("dead letter error %q offset %q", header(dl, "hookstream-error"), header(dl, "hookstream-source-offset"))
				}
				if len(pass)+len(mapped) != 0 {
					t.Errorf("a poison record was also delivered")
				}
				return
			}
			if dl != nil {
				t.Fatalf("dead-lettered (%s: %s), want delivered", header(dl, "hookstream-reason"), header(dl, "hookstream-error"))
			}
			if len(pass) != 1 || len(mapped) != 1 {
				var bodies []string
				for _, r := range reqs {
					if r.Path == "/mapped" {
						bodies = append(bodies, string(r.Body))
					}
				}
				t.Errorf("delivered %d times as it came and %d times mapped, want once each as %s; mapped bodies seen:\n%s",
					len(pass), len(mapped), tt.mapped, strings.Join(bodies, "\n"))
			}
		})
	}
	if code := w.stop(t, syscall.SIGTERM); code != 0 {
		t.Errorf("exit %d", code)
	}
}

// jsonSame reports whether a body is the JSON text want, up to key order
// and spacing (the mapped body's key order is hookstream's choice).
func jsonSame(body []byte, want string) bool {
	var a, b any
	if json.Unmarshal(body, &a) != nil || json.Unmarshal([]byte(want), &b) != nil {
		return false
	}
	return fmt.Sprint(a) == fmt.Sprint(b)
}
