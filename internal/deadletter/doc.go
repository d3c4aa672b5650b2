// Package deadletter owns the format of the two kinds of record hookstream
// writes about an event it has not delivered: dead letters, on the
// dead-letter topic (SPEC §4), and parked events, on the retry topic, where
// an action that fell behind puts its events until its endpoint takes them
// again.
//
// Both carry the source record's value and its headers, minus any
// hookstream-* header (a record dead-lettered twice carries one reason, not
// two), plus hookstream's own headers, whose names are the Header constants.
// A dead letter keeps the source record's key and says why (a Reason) and
// for which action; a parked event is keyed by its action's id, so that all
// of an action's parked events share one partition and keep their order,
// and keeps the source key and timestamp in headers.
//
// Encode builds a dead letter, Park a parked event, and Decode reads either
// back into the source record and what hookstream said about it. The sink
// writes both kinds; the processor reads parked events back; the command
// line lists and replays dead letters. None of them spells a header name,
// a reason or a default topic name itself.
package deadletter
