// Package broker runs hookstream's embedded Kafka-protocol broker: an
// in-process kfake cluster of one node, listening on a TCP address, with the
// topics hookstream needs created up front.
//
// It backs `hookstream broker`, `hookstream dev` and the command tests. It is
// meant for development and tests, not production: a single node, no
// replication, and compaction only when its cleaner runs. With DataDir set, the
// broker writes records, topics and committed group offsets to disk and
// reloads them on the next start, so a development setup survives a restart.
//
// Topics are created after the cluster starts (not seeded), so that a broker
// reloaded from DataDir still gains topics added to its configuration later,
// and so that the rules topic can be created compacted.
package broker
