package deadletter

import (
	"fmt"
	"strings"
)

// Default topic names (SPEC §4 and §7).
const (
	DefaultTopic      = "hookstream.dlq"
	DefaultRetryTopic = "hookstream.retry"
)

// Reason says why an event was dead-lettered: the hookstream-reason header.
type Reason string

// The reasons of SPEC §4.
const (
	// ReasonDecode: the record is not one UTF-8 JSON object.
	ReasonDecode Reason = "decode"
	// ReasonTooLarge: the record's value is over max_event_bytes.
	ReasonTooLarge Reason = "too_large"
	// ReasonRejected: the endpoint answered with a permanent failure, the
	// delivery policy refused it, or the action of a parked event is gone.
	ReasonRejected Reason = "rejected"
	// ReasonRetriesExhausted: retryable failures until retry.max_duration.
	ReasonRetriesExhausted Reason = "retries_exhausted"
	// ReasonMapping: the action's URL or payload could not be rendered.
	ReasonMapping Reason = "mapping"
)

// Reasons lists every reason, in the SPEC's order.
var Reasons = []Reason{ReasonDecode, ReasonTooLarge, ReasonRejected, ReasonRetriesExhausted, ReasonMapping}

// Valid reports whether r is one of Reasons.
func (r Reason) Valid() bool {
	switch r {
	case ReasonDecode, ReasonTooLarge, ReasonRejected, ReasonRetriesExhausted, ReasonMapping:
		return true
	}
	return false
}

func (r Reason) String() string { return string(r) }

// ParseReason returns the reason s names, or an error listing the valid ones.
func ParseReason(s string) (Reason, error) {
	if r := Reason(s); r.Valid() {
		return r, nil
	}
	names := make([]string, len(Reasons))
	for i, r := range Reasons {
		names[i] = string(r)
	}
	return "", fmt.Errorf("reason %q: want one of %s", s, strings.Join(names, ", "))
}

// Headers hookstream adds. Every dead letter carries Reason, Action, Error,
// the three Source coordinates and Attempts, Status when an endpoint
// answered and SourceTimestamp when the source record had one. A parked
// event carries Action, the Source coordinates, and SourceKey and
// SourceTimestamp when the source record had them.
const (
	HeaderReason          = "hookstream-reason"
	HeaderAction          = "hookstream-action"
	HeaderStatus          = "hookstream-status"
	HeaderError           = "hookstream-error"
	HeaderSourceTopic     = "hookstream-source-topic"
	HeaderSourcePartition = "hookstream-source-partition"
	HeaderSourceOffset    = "hookstream-source-offset"
	HeaderAttempts        = "hookstream-attempts"
	// HeaderValueDropped is "true" on the rare dead letter whose value the
	// dead-letter topic would not take (DropValue), and HeaderValueSize then
	// holds the dropped value's length in bytes.
	HeaderValueDropped = "hookstream-value-dropped"
	HeaderValueSize    = "hookstream-value-size"
	// HeaderSourceKey holds a parked event's source key: its own key is its
	// action's id. Absent when the source record had no key.
	HeaderSourceKey = "hookstream-source-key"
	// HeaderSourceTimestamp holds the source record's timestamp in unix
	// milliseconds, in case the retry topic stamps records itself
	// (LogAppendTime).
	HeaderSourceTimestamp = "hookstream-source-timestamp"
)

// Own reports whether k is one of the headers above, which are never
// copied from a source record: a record dead-lettered twice carries one
// reason, not two.
func Own(k string) bool {
	switch k {
	case HeaderReason, HeaderAction, HeaderStatus, HeaderError, HeaderSourceTopic,
		HeaderSourcePartition, HeaderSourceOffset, HeaderAttempts, HeaderValueDropped, HeaderValueSize,
		HeaderSourceKey, HeaderSourceTimestamp:
		return true
	}
	return false
}
