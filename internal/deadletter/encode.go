package deadletter

import (
	"strconv"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kgo"
)

// MaxErrorLen bounds the hookstream-error value, in bytes.
const MaxErrorLen = 1024

// Letter is what a dead letter says about its event.
type Letter struct {
	Reason Reason
	Action string // the action's id; empty for a record that matched none (decode, too_large)
	Status int    // the endpoint's HTTP status; 0 if none answered
	// Error says what went wrong; Encode cuts it to MaxErrorLen on a rune
	// boundary, and writes the reason when it is empty. It must be free of
	// secrets: the sink builds delivery errors without URLs, header values
	// or response bodies.
	Error    string
	Attempts int // delivery attempts made
}

// Encode returns the dead letter of src on topic: src's key, value and
// headers (minus hookstream's own) plus the headers saying why, and the
// source timestamp when src has one. The record gets no timestamp of its
// own, so the producer's says when it was dead-lettered.
// A nil src (an event handed over without a record) gives a dead letter
// with no value and source partition and offset -1.
func Encode(topic string, src *kgo.Record, l Letter) *kgo.Record {
	src = orEmpty(src)
	out := &kgo.Record{Topic: topic, Key: src.Key, Value: src.Value, Headers: sourceHeaders(src, 8)}
	add := adder(out)
	add(HeaderReason, string(l.Reason))
	add(HeaderAction, l.Action)
	if l.Status != 0 {
		add(HeaderStatus, strconv.Itoa(l.Status))
	}
	add(HeaderError, errorText(l))
	addSource(add, src)
	add(HeaderAttempts, strconv.Itoa(l.Attempts))
	addTimestamp(add, src)
	return out
}

// Park returns the retry-topic record of src, parked by action: src's value
// and headers (minus hookstream's own) and timestamp, keyed by the action's
// id, with headers naming the action and the source record.
func Park(topic, action string, src *kgo.Record) *kgo.Record {
	src = orEmpty(src)
	out := &kgo.Record{Topic: topic, Key: []byte(action), Value: src.Value, Timestamp: src.Timestamp,
		Headers: sourceHeaders(src, 6)}
	add := adder(out)
	add(HeaderAction, action)
	addSource(add, src)
	if src.Key != nil {
		add(HeaderSourceKey, string(src.Key))
	}
	addTimestamp(add, src)
	return out
}

// DropValue takes the value out of a dead letter that the topic refused as
// too large, and says so in HeaderValueDropped ("true") and HeaderValueSize
// (the value's length).
// Key, headers and source coordinates stay, so an operator can fetch the
// value from the source topic while it is retained. It reports false, and
// changes nothing, when rec has no value to drop.
func DropValue(rec *kgo.Record) bool {
	if rec.Value == nil {
		return false
	}
	rec.Headers = append(rec.Headers,
		kgo.RecordHeader{Key: HeaderValueDropped, Value: []byte("true")},
		kgo.RecordHeader{Key: HeaderValueSize, Value: []byte(strconv.Itoa(len(rec.Value)))})
	rec.Value = nil
	return true
}

func orEmpty(src *kgo.Record) *kgo.Record {
	if src == nil {
		return &kgo.Record{Partition: -1, Offset: -1}
	}
	return src
}

// sourceHeaders copies src's headers other than hookstream's own, leaving
// room for extra more.
func sourceHeaders(src *kgo.Record, extra int) []kgo.RecordHeader {
	hs := make([]kgo.RecordHeader, 0, len(src.Headers)+extra)
	for _, h := range src.Headers {
		if !Own(h.Key) {
			hs = append(hs, h)
		}
	}
	return hs
}

func adder(out *kgo.Record) func(k, v string) {
	return func(k, v string) { out.Headers = append(out.Headers, kgo.RecordHeader{Key: k, Value: []byte(v)}) }
}

func addSource(add func(k, v string), src *kgo.Record) {
	add(HeaderSourceTopic, src.Topic)
	add(HeaderSourcePartition, strconv.Itoa(int(src.Partition)))
	add(HeaderSourceOffset, strconv.FormatInt(src.Offset, 10))
}

// errorText is the hookstream-error value.
func errorText(l Letter) string {
	s := l.Error
	if s == "" {
		return string(l.Reason)
	}
	if len(s) > MaxErrorLen {
		s = s[:MaxErrorLen]
		for len(s) > 0 && !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
	}
	return s
}

func addTimestamp(add func(k, v string), src *kgo.Record) {
	if !src.Timestamp.IsZero() {
		add(HeaderSourceTimestamp, strconv.FormatInt(src.Timestamp.UnixMilli(), 10))
	}
}
