// Package lag is `hookstream lag`: a consumer group's lag per topic and
// partition, for the source topics and the retry topic, and the age of the
// oldest undelivered event per action, measured from the brokers alone
// (no worker need be running).
//
// The offsets come from processor.GroupLag, the one place lag is counted.
// The age per action: the record at a partition's committed offset is the
// oldest one the group has not finished (the commit never passes an
// undelivered event). For a source partition, that record is matched
// against the actions and its age counts for every action it matches: one
// of them, at least, has not delivered it. For the retry topic, the records
// from the committed offset on (up to Config.Scan of them) are parked
// events, each naming its action, and the first one of each action gives
// that action's age, from the source record's timestamp. An event delivered
// but not yet committed (for up to a commit interval) still counts, so the
// ages are upper bounds.
package lag
