// Package dlq reads the dead-letter topic for people and scripts, and sends
// dead letters back through delivery: `hookstream dlq list` and `hookstream
// dlq replay` (SPEC §6).
//
// Read selects dead letters by action, reason and time without joining a
// consumer group. It is fast on a large topic because it reads only the
// offsets the time filters can match: the first offset of each partition
// stamped at or after --since and the first stamped after --until are
// looked up by timestamp (Kafka's ListOffsets), and reading stops at the
// end offsets listed when it started. The records are decoded with
// internal/deadletter, which owns their format; a letter carries the
// source coordinates and the event's messageId, and, when read for a
// replay, the source record itself.
//
// Read hands the letters out oldest first while it reads, in memory that
// does not grow with the topic (merge.go): each partition is read in
// offset order, and a letter leaves once every partition still being read
// has one queued, the oldest head first (ties by partition, then offset).
// A partition that gets a window ahead of the others is paused until they
// catch up. Where a partition's times go backwards (its writers' clocks
// differ), its offset order is kept.
//
// Plan decides whether a selected letter can be replayed with the actions as
// they are now (from the rules topic or a rules file): a poison record
// names no action, and an action that no longer exists, is disabled or is
// refused by the workers cannot deliver; each skip is counted with its
// reason. A Replayer writes the others to the retry topic as they are
// read, holding a bounded number in flight, as events parked by their
// action, the format a worker already reads back from there: a running
// worker delivers them to that action only, in its current version (fixed
// URL, new secret), with the source record's value, so each event keeps
// its messageId. Replaying twice delivers twice; receivers drop duplicates
// by messageId.
package dlq
