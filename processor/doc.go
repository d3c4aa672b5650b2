// Package processor is hookstream's consumer-group member. It polls the
// source topics, runs every record through the current rules on one
// goroutine per partition, hands each match to the sink, and commits each
// partition only up to its first record that is not done.
//
// # Records and the poll loop
//
// One goroutine polls. It takes at most as many records as the member's
// budget (max_buffered_events records and max_buffered_bytes bytes of their
// values, counted from fetch until done) has room for,
// and appends each partition's records to that partition's ledger and queue
// without ever waiting on a partition. Once half the budget is in use, a
// partition that holds more than its share of it (shares are counted over
// the source partitions), or at any time one with too many records behind
// one that is stuck, is paused (PauseFetchPartitions) and resumed when it
// has drained to half; below that, pausing would only cost fetch waits.
// When the whole budget is used, the poll loop stops polling until acks
// free a useful amount of room. It also waits while more than one poll's
// worth of records are not yet processed: the budget is a bound, and
// reading further ahead of busy matchers would only fill memory. What the
// client fetches ahead is memory too: fetch sizes follow the byte bound and
// shrink per partition as partitions grow, and the poll loop polls only
// while the ledgers leave room for what a poll can bring, so the client's
// buffer counts against the same bound. A single record larger than the
// room left is still taken when nothing else is in hand. Every one of these
// rules is a pure function in flow.go; the ledgers count what is in hand
// (the budget is their sum) and apply the rules' decisions.
//
// Each partition's matcher (matcher.go: one goroutine per partition)
// decodes a record once, evaluates every enabled trigger on that one
// decoded event, and hands each match to the sink with Send (rendering the
// action's payload first; a render error is a dead letter with reason
// "mapping" for that action). A poison record (not a JSON
// object, too large) is dead-lettered with reason "decode" or "too_large". A
// record that matched nothing is done at once. Each hand-over carries an Ack,
// the record's ledger slot; the sink calls its Done once per hand-over, and
// the record is done when all have come back.
//
// # The commit protocol
//
// A partition's ledger (checkpoint.go) lists its records in fetch order with
// a pending count: one while the record is being processed, then one per
// hand-over to the sink. Acks arrive in any order from any goroutine. The
// commit point is the offset after the last record of the longest prefix of
// done records; offsets may have gaps (compaction, transaction markers), so
// the ledger tracks records, never offset arithmetic. Four times per
// commit_interval every ledger whose commit point moved marks it with
// MarkCommitOffsets (once, however many acks moved it), and kgo commits the
// marked offsets every commit_interval (AutoCommitMarks). Nothing is ever
// marked, so nothing is ever committed, ahead of a record that is not done.
//
// Each ledger has a closed flag, checked under the ledger's lock before every
// mark. Partitions are assigned with the cooperative-sticky balancer:
//
//   - OnPartitionsAssigned starts a ledger and a matcher per new partition.
//   - OnPartitionsRevoked stops those partitions' matchers and waits for
//     them, marks their ledgers a last time and closes them, and then
//     commits the marked offsets, so the next owner starts right after the
//     last record done here. The sink drops what it has not sent yet of
//     those partitions (their ledger slots, each hand-over's Ack, report
//     Withdrawn); what is already in a request may still be delivered, but its acks can no longer mark: a late mark
//     would put this member's offset back into a partition it no longer
//     owns. The next owner delivers all of it again (at-least-once;
//     receivers drop duplicates by messageId), so a rebalance duplicates
//     at most what was in flight.
//   - OnPartitionsLost closes them without marking or committing: the group
//     has already moved on.
//
// Rebalances are blocked only while one poll's records are handed off
// (BlockRebalanceOnPoll, released at once), so records polled before a
// revoke can never reach a partition assigned again after it. Every pause is
// lifted when its ledger closes, so no partition stays paused across a
// rebalance.
//
// # The retry topic
//
// With Config.RetryTopic set, the member consumes the retry topic as one
// more topic of the group, with the same ledgers, pauses, rebalance
// callbacks and commits. Its records are events that an action parked while
// its endpoint was failing (retry.go; their format is internal/deadletter's):
// each goes to the one action its hookstream-action header names, never
// through the triggers again, as the source record it carries, through the
// sink's SendParked; it is dead-lettered as rejected if that action is gone
// or disabled. A partition knows when it is assigned whether it belongs to
// the retry topic; no record's topic is compared. While the
// endpoint is still down the sink holds such events, so their partition's
// commit point stays put and, once the partition holds too many, it is
// paused like any other; the source partitions go on.
//
// # Lag
//
// Lag is counted in one place, lag.go: a partition's lag is its end offset
// minus its committable offset (PartitionStatus.Lag), and GroupLag lists a
// whole group's lag from the brokers with kadm, whatever member owns each
// partition. Partitions fills in the end offset of a partition no fetch has
// reported on by listing it through the member's own client
// (endoffsets.go), so an idle partition's lag is known too.
//
// # Assignment
//
// With Config.OnAssigned set, the member reports after every rebalance how
// many of the source topics' partitions it owns, of how many
// (assignment.go): the sink shares each action's rate_limit by it.
//
// # Shutdown
//
// When Run's context ends the member stops fetching, lets every matcher hand
// over what it holds, flushes the sink (both within shutdown_timeout), marks
// and closes the ledgers, commits the marked offsets synchronously and leaves
// the group. After a crash instead, the group resumes from the last commit and
// redelivers what was not done.
package processor
