// Package topic keeps hookstream's actions on a compacted Kafka topic (the
// rules topic, SPEC §5): record key = action id, value = the action as JSON
// (the fields of a rules-file entry), null value (a tombstone) = delete. It
// is how every scaled worker runs the same rules and how a change reaches
// them without a restart.
//
// # Following the topic
//
// A Follower (follower.go) reads the topic with a plain client, no consumer
// group: every worker reads every partition from the start. Before it says
// it is ready it reads up to the end offsets listed when it started, so a
// worker never consumes an event with an incomplete rule set; the processor
// waits on Follower.Ready before joining its group, and /readyz fails until
// then. It then follows the topic: each record is parsed and compiled with
// the same rules.Options as a rules file, and the changes one fetch brings
// are installed together by swapping a new rules.Set into the rules.Store.
// Every record the processor reads after the swap sees the new set; records
// already matched keep the version they loaded, and the sink flushes a batch
// gathered under an old version, with that version's settings, before the
// new one takes over. A deleted action's events already handed to the sink
// are still delivered: the sink does not drop what it holds.
//
// An invalid record (bad JSON, an unknown field, an expression that does not
// compile, a key that is not the action's id, an environment variable the
// worker lacks) is refused: it is logged with the reason (which names
// fields and variables, never a secret), counted in
// hookstream_rules_rejected_total, and the action's previous version keeps
// running. While catching up, a refusal is reported only if no later record
// of that key replaced it, so a restart does not count the history again.
//
// # Ending where the topic ends
//
// "Caught up" means a record at or past end-1 of every partition that held
// records was seen. The client keeps control records (KeepControlRecords),
// so a topic whose last record is a transaction marker is still seen to its
// end, and compaction never removes a partition's last batch.
//
// # Creating and writing the topic
//
// Ensure creates the topic with cleanup.policy=compact when it is missing
// and refuses one that is not compacted: a deleting topic would lose actions
// once its retention passed. Read returns the actions on the topic (the
// latest value of every key), Diff compares them with a rules file and
// returns the records that make the topic match it, and Canonical is the one
// JSON form written, so that an unchanged action is not written again.
// Apply and Delete (publish.go) do all of it for `hookstream rules apply`
// and `rules delete`, waiting for the brokers' acknowledgement.
// "${env:NAME}" references stay as written: a secret is never on the topic,
// only the name of the variable each worker reads it from.
package topic
