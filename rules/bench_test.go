package rules

import (
	"testing"

	"github.com/expr-lang/expr/vm"
)

// trackEvent is a typical ~400-byte track event.
var trackEvent = []byte(`{"type":"track","event":"Order Completed","userId":"user-83412","anonymousId":"4f9c2a1e-8d7b-4b6a-9c3e-2f1d0a9b8c7d","messageId":"msg-0f8e7d6c5b4a","timestamp":"2026-03-01T12:34:56.789Z","properties":{"orderId":"o-99812","total":129.5,"currency":"EUR","plan":"pro","coupon":null,"items":3},"context":{"ip":"10.1.2.3","library":{"name":"analytics.js","version":"4.1.0"},"locale":"de-DE"},"traits":{"email":"ada@example.com"}}`)

func benchSet(b *testing.B) *Set {
	b.Helper()
	set, err := CompileAll([]Action{
		{ID: "signups", Trigger: `type == "track" && event == "Signed Up"`, URL: "https://crm.example.com/hooks"},
		{ID: "orders", Trigger: `type == "track" && event == "Order Completed" && (properties.total ?? 0) > 100`, URL: "https://wh.example.com/orders"},
		{ID: "pro", Trigger: `properties.plan == "pro" && context.ip startsWith "10."`, URL: "https://x.example.com/pro"},
	}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	return set
}

func BenchmarkDecodeMatch(b *testing.B) {
	set := benchSet(b)
	var ev Event
	var v vm.VM
	dst := make([]*Compiled, 0, 8)
	b.SetBytes(int64(len(trackEvent)))
	b.ReportAllocs()
	for b.Loop() {
		if err := Decode(trackEvent, 0, &ev); err != nil {
			b.Fatal(err)
		}
		dst = set.Match(&ev, &v, dst[:0], nil)
	}
	if len(dst) != 2 {
		b.Fatalf("matched %d actions, want 2", len(dst))
	}
}

func BenchmarkDecode(b *testing.B) {
	var ev Event
	b.SetBytes(int64(len(trackEvent)))
	b.ReportAllocs()
	for b.Loop() {
		if err := Decode(trackEvent, 0, &ev); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMatch(b *testing.B) {
	set := benchSet(b)
	var ev Event
	if err := Decode(trackEvent, 0, &ev); err != nil {
		b.Fatal(err)
	}
	var v vm.VM
	dst := make([]*Compiled, 0, 8)
	b.ReportAllocs()
	for b.Loop() {
		dst = set.Match(&ev, &v, dst[:0], nil)
	}
}

func BenchmarkRender(b *testing.B) {
	c, err := Compile(Action{
		ID:      "orders",
		Trigger: `type == "track"`,
		URL:     "https://wh.example.com/orders/{{ properties.orderId }}",
		Payload: map[string]any{
			"userId":   "userId",
			"event":    "event",
			"total":    "properties.total",
			"currency": "properties.currency",
			"coupon":   "properties.coupon",
			"contact":  map[string]any{"email": "traits.email", "ip": "context.ip"},
		},
	}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	var ev Event
	if err := Decode(trackEvent, 0, &ev); err != nil {
		b.Fatal(err)
	}
	var v vm.VM
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		_, body, err := c.Render(&ev, trackEvent, &v, buf)
		if err != nil {
			b.Fatal(err)
		}
		buf = body
	}
}

func BenchmarkRenderPassThrough(b *testing.B) {
	c, err := Compile(Action{ID: "raw", Trigger: `true`, URL: "https://wh.example.com/in"}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	var ev Event
	if err := Decode(trackEvent, 0, &ev); err != nil {
		b.Fatal(err)
	}
	var v vm.VM
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := c.Render(&ev, trackEvent, &v, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSetDecodeMatch is the processor's path for one record: decode
// (the fast path, building only the object fields a trigger reads) and
// evaluate every trigger. benchSet reads properties and context on every
// event; typicalSet reads them only after its test of type and event.
func BenchmarkSetDecodeMatch(b *testing.B) {
	for _, bc := range []struct {
		name string
		set  *Set
	}{{"reads-objects", benchSet(b)}, {"typical", typicalSet(b)}} {
		b.Run(bc.name, func(b *testing.B) {
			var ev Event
			var v vm.VM
			dst := make([]*Compiled, 0, 8)
			b.SetBytes(int64(len(trackEvent)))
			b.ReportAllocs()
			for b.Loop() {
				if err := bc.set.Decode(trackEvent, 0, &ev); err != nil {
					b.Fatal(err)
				}
				dst = bc.set.Match(&ev, &v, dst[:0], nil)
			}
			if len(dst) == 0 {
				b.Fatal("nothing matched")
			}
		})
	}
}

// typicalSet is three triggers that test type and event first, as most
// rules do: one matches trackEvent, two read objects only on other events.
func typicalSet(b *testing.B) *Set {
	b.Helper()
	set, err := CompileAll([]Action{
		{ID: "orders", Trigger: `type == "track" && event == "Order Completed"`, URL: "https://wh.example.com/orders"},
		{ID: "churn", Trigger: `type == "track" && event == "Subscription Cancelled" && (properties.mrr ?? 0) > 100`, URL: "https://wh.example.com/churn"},
		{ID: "vip", Trigger: `type == "identify" && traits.plan == "vip"`, URL: "https://wh.example.com/vip"},
	}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	return set
}

func BenchmarkDecodeLazy(b *testing.B) {
	var ev Event
	b.SetBytes(int64(len(trackEvent)))
	b.ReportAllocs()
	for b.Loop() {
		if err := DecodeLazy(trackEvent, 0, &ev); err != nil {
			b.Fatal(err)
		}
	}
}
