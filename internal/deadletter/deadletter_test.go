package deadletter

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func header(rec *kgo.Record, k string) (string, int) {
	v, n := "", 0
	for _, h := range rec.Headers {
		if h.Key == k {
			v, n = string(h.Value), n+1
		}
	}
	return v, n
}

var ts = time.UnixMilli(1_700_000_000_123)

// sources are the source records every round trip is tried with.
var sources = []struct {
	name string
	src  *kgo.Record
}{
	{"keyed with headers", &kgo.Record{Topic: "events", Partition: 7, Offset: 42, Key: []byte("u-1"), Value: []byte(`{"a":1}`),
		Timestamp: ts, Headers: []kgo.RecordHeader{{Key: "traceparent", Value: []byte("00-abc-def-01")}}}},
	{"no key", &kgo.Record{Topic: "events", Partition: 0, Offset: 0, Value: []byte(`{}`), Timestamp: ts}},
	{"empty key", &kgo.Record{Topic: "other", Partition: 2, Offset: 9, Key: []byte{}, Value: []byte(`{}`), Timestamp: ts}},
	{"own headers of an earlier dead letter", &kgo.Record{Topic: "events", Partition: 1, Offset: 5, Value: []byte(`{}`), Timestamp: ts,
		Headers: []kgo.RecordHeader{{Key: HeaderReason, Value: []byte("rejected")}, {Key: HeaderAction, Value: []byte("old")}, {Key: "x", Value: []byte("y")}}}},
}

// checkSource compares a decoded source record with the one encoded.
func checkSource(t *testing.T, got, want *kgo.Record) {
	t.Helper()
	if got.Topic != want.Topic || got.Partition != want.Partition || got.Offset != want.Offset {
		t.Errorf("source %s/%d@%d, want %s/%d@%d", got.Topic, got.Partition, got.Offset, want.Topic, want.Partition, want.Offset)
	}
	if (got.Key == nil) != (want.Key == nil) || string(got.Key) != string(want.Key) {
		t.Errorf("source key %q (nil %v), want %q (nil %v)", got.Key, got.Key == nil, want.Key, want.Key == nil)
	}
	if string(got.Value) != string(want.Value) {
		t.Errorf("source value %s, want %s", got.Value, want.Value)
	}
	if !got.Timestamp.Equal(want.Timestamp) {
		t.Errorf("source timestamp %v, want %v", got.Timestamp, want.Timestamp)
	}
	var hs []kgo.RecordHeader
	for _, h := range want.Headers {
		if !Own(h.Key) {
			hs = append(hs, h)
		}
	}
	if fmt.Sprint(got.Headers) != fmt.Sprint(hs) && len(got.Headers)+len(hs) > 0 {
		t.Errorf("source headers %v, want %v", got.Headers, hs)
	}
}

func TestDeadLetterRoundTrip(t *testing.T) {
	l := Letter{Reason: ReasonRetriesExhausted, Action: "crm", Status: 503, Error: "POST hooks.test: status 503", Attempts: 4}
	for _, c := range sources {
		t.Run(c.name, func(t *testing.T) {
			out := Encode(DefaultTopic, c.src, l)
			if out.Topic != DefaultTopic || string(out.Key) != string(c.src.Key) || !out.Timestamp.IsZero() {
				t.Fatalf("dead letter %s key %q at %v", out.Topic, out.Key, out.Timestamp)
			}
			if _, n := header(out, HeaderReason); n != 1 {
				t.Errorf("%d %s headers, want 1", n, HeaderReason)
			}
			// Read back with the coordinates and time of the dead-letter topic.
			out.Partition, out.Offset, out.Timestamp = 0, 77, time.Now()
			d := Decode(out)
			if d.Parked || d.Letter != l || d.ValueDropped {
				t.Errorf("decoded %+v, want the letter %+v", d, l)
			}
			checkSource(t, d.Source, c.src)
		})
	}
}

func TestParkedRoundTrip(t *testing.T) {
	for _, c := range sources {
		t.Run(c.name, func(t *testing.T) {
			out := Park(DefaultRetryTopic, "crm", c.src)
			if out.Topic != DefaultRetryTopic || string(out.Key) != "crm" || !out.Timestamp.Equal(ts) {
				t.Fatalf("parked record %s key %q at %v", out.Topic, out.Key, out.Timestamp)
			}
			out.Partition, out.Offset, out.Timestamp = 2, 1000, time.Now()
			d := Decode(out)
			if !d.Parked || d.Action != "crm" || d.Reason != "" {
				t.Errorf("decoded %+v, want a parked event of crm", d.Letter)
			}
			checkSource(t, d.Source, c.src)
		})
	}
}

// A record without hookstream's headers decodes as its own source, so a
// retry-topic record written by hand is delivered, not lost.
func TestDecodeWithoutHeaders(t *testing.T) {
	rec := &kgo.Record{Topic: DefaultRetryTopic, Partition: 3, Offset: 8, Key: []byte("crm"), Value: []byte(`{}`), Timestamp: ts,
		Headers: []kgo.RecordHeader{{Key: HeaderSourceOffset, Value: []byte("not a number")}}}
	d := Decode(rec)
	if !d.Parked || d.Action != "" {
		t.Errorf("decoded %+v, want a parked event naming no action", d.Letter)
	}
	checkSource(t, d.Source, &kgo.Record{Topic: DefaultRetryTopic, Partition: 3, Offset: 8, Value: []byte(`{}`), Timestamp: ts})
}

func TestEncodeErrorText(t *testing.T) {
	cases := []struct {
		name  string
		l     Letter
		want  string
		match func(string) bool
	}{
		{"empty error says the reason", Letter{Reason: ReasonDecode}, "decode", nil},
		{"short error as is", Letter{Reason: ReasonRejected, Error: "status 400"}, "status 400", nil},
		{"long error cut on a rune", Letter{Reason: ReasonRejected, Error: strings.Repeat("é", MaxErrorLen)}, "",
			func(s string) bool { return len(s) == MaxErrorLen && strings.Trim(s, "é") == "" }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, _ := header(Encode(DefaultTopic, nil, c.l), HeaderError)
			if c.match == nil && got != c.want || c.match != nil && !c.match(got) {
				t.Errorf("%s = %q", HeaderError, got)
			}
		})
	}
}

func TestNilSource(t *testing.T) {
	d := Decode(Encode(DefaultTopic, nil, Letter{Reason: ReasonDecode}))
	if d.Source.Partition != -1 || d.Source.Offset != -1 || d.Source.Value != nil {
		t.Errorf("source %d@%d value %q, want -1@-1 and none", d.Source.Partition, d.Source.Offset, d.Source.Value)
	}
}

func TestDropValue(t *testing.T) {
	rec := Encode(DefaultTopic, &kgo.Record{Topic: "events", Value: []byte("0123456789")}, Letter{Reason: ReasonTooLarge})
	if !DropValue(rec) || rec.Value != nil {
		t.Fatal("value not dropped")
	}
	if v, n := header(rec, HeaderValueDropped); n != 1 || v != "true" {
		t.Errorf("%s = %q (%d times), want true once", HeaderValueDropped, v, n)
	}
	if v, n := header(rec, HeaderValueSize); n != 1 || v != "10" {
		t.Errorf("%s = %q (%d times), want 10 once", HeaderValueSize, v, n)
	}
	if DropValue(rec) {
		t.Error("dropped a value twice")
	}
	if d := Decode(rec); !d.ValueDropped || d.Source.Value != nil {
		t.Errorf("decoded value dropped %v, value %q", d.ValueDropped, d.Source.Value)
	}
}

func TestParseReason(t *testing.T) {
	for _, r := range Reasons {
		if got, err := ParseReason(string(r)); err != nil || got != r {
			t.Errorf("ParseReason(%q) = %q, %v", r, got, err)
		}
	}
	for _, s := range []string{"", "parked", "Decode", "retries-exhausted"} {
		if _, err := ParseReason(s); err == nil || !strings.Contains(err.Error(), "retries_exhausted") {
			t.Errorf("ParseReason(%q) = %v, want an error listing the reasons", s, err)
		}
	}
}
