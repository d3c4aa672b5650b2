package processor

// This file is the member's flow-control policy, and all of it: when the
// poll loop may poll and for how many records, what one partition may hold
// before it is paused and when it is resumed. Each rule is a pure function
// of the bounds and of what is in hand; the budget (budget.go) and the
// ledgers (checkpoint.go) only count and call these.
//
// What is "in hand" is counted once, in the ledgers: a record counts from
// the poll that handed it off until it is done (delivered, dead-lettered or
// parked, however many actions it went to), and the budget is the sum over
// the ledgers. The sink keeps its own counts of the same events for other
// purposes (Flush, the oldest pending age, an action's share); none of them
// decides when fetching pauses.

// maxPoll caps the records taken in one poll, so one poll's hand-off stays
// short and the partitions' matchers start early.
const maxPoll = 10_000

// Fetch sizes (kgo's FetchMaxBytes and FetchMaxPartitionBytes). kgo keeps
// a fetch response buffered until it is polled, decompressed, and a record
// keeps its whole batch alive, so what the client reads ahead is memory
// like the ledgers' and is counted against the same byte bound: one fetch
// may carry a thirty-second of it, a partition's share of a fetch shrinks
// as partitions grow, and the poll loop polls only while the ledgers leave
// room for what one poll may bring (pollReserve).
const (
	minFetchBytes          = 256 << 10
	maxFetchBytes          = 16 << 20
	minFetchPartitionBytes = 256 << 10
	maxFetchPartitionBytes = 512 << 10
	fetchReserve           = 4       // fetches' worth, for decompression
	batchOvershoot         = 1 << 20 // Kafka's default max.message.bytes
)

// pollReserve is the room the poll loop leaves for one poll: a few fetches
// of the given size, since what they carry is decompressed, and one record
// batch more, since a broker returns the first batch of a fetch whole
// however large it is.
func pollReserve(fetch int32) int64 { return fetchReserve*int64(fetch) + batchOvershoot }

// fetchSizes returns the most one fetch may carry and the most it may carry
// of one of partitions partitions. A partition's share never falls under a
// producer batch of ordinary size, minFetchPartitionBytes: a broker returns
// a batch larger than the share only for the first partition of a fetch,
// so a smaller share would serve one partition per fetch.
func fetchSizes(b bounds, partitions int) (fetch, partition int32) {
	f := min(max(b.bytes/32, minFetchBytes), maxFetchBytes)
	part := min(max(4*f/int64(max(1, partitions)), minFetchPartitionBytes), maxFetchPartitionBytes)
	return int32(f), int32(part)
}

// bounds are what the whole member may hold: max_buffered_events records
// and max_buffered_bytes bytes of record values.
type bounds struct {
	events int
	bytes  int64
}

// usage is what is in hand, for the member or for one partition.
type usage struct {
	events int   // records handed off and not done
	bytes  int64 // the bytes of their values
	span   int   // records not yet passed by the commit point, done or not (one partition only)
}

// limits bound what one partition may hold before its fetching is paused.
type limits struct {
	// open bounds the records not done: the memory that records and their
	// payloads take.
	open int
	// bytes bounds the bytes of their values.
	bytes int64
	// span bounds the records not yet passed by the commit point, done or
	// not. A record stuck at the head (its action's endpoint down) keeps
	// every later record in the ledger even once done; span keeps that
	// bounded too, at the cost of pausing the partition until it moves.
	span int
}

// pollSizes returns the most records one poll takes and the smallest room
// worth polling for. A poll takes at most a quarter of the budget, so a
// partition that stops draining holds at most its limit plus one poll: with
// two or more partitions that leaves a quarter of the budget to the others.
func pollSizes(b bounds) (most, least int) {
	most = max(1, min(maxPoll, b.events/4))
	return most, max(1, min(most, b.events/8))
}

// mayPoll reports whether the poll loop may poll now: the budget has room
// for at least least records, and for fetch more bytes (what one poll can
// bring from the client's buffer). With nothing in hand it may always poll,
// so that a single record larger than the whole byte bound is still taken.
func mayPoll(in usage, b bounds, least int, fetch int64) bool {
	if in.events == 0 {
		return true
	}
	return b.events-in.events >= least && in.bytes+fetch <= b.bytes
}

// pollCount returns how many records the next poll may take: within the
// room left in records and, at avg bytes per record (the last poll's
// average; 0 before any), in bytes. Fetch sizes bound what a poll can bring
// in compressed bytes only, and values that compress well would otherwise
// bring many times that. At least one, so a record larger than the room
// left is still taken when the poll loop may poll at all.
func pollCount(in usage, b bounds, most int, avg int64) int {
	n := min(b.events-in.events, most)
	if avg > 0 {
		n = int(min(int64(n), (b.bytes-in.bytes)/avg))
	}
	return max(1, n)
}

// aheadOK reports whether the poll loop may read on while unprocessed
// records are not yet decoded and matched: the budget is a bound, not a
// target, and fetching further than one poll ahead of busy matchers would
// only fill memory.
func aheadOK(unprocessed, most int) bool { return unprocessed <= most }

// partitionLimits are what one of sources source partitions may hold before
// it is paused, while the member holds used.
//
// Records not done: twice its fair share of the budget, and at most half of
// it; a single partition is limited by the budget alone, since there is
// nobody to starve and pausing costs a re-fetch. The same for bytes.
// Records not yet committed, done or not: four times its share, so the
// ledgers of all partitions together hold at most four budgets' worth of
// slots (about 70 bytes each; a done record keeps no payload).
//
// A paused partition rejoins only the next fetch, and a fetch whose other
// partitions are all idle is held by the broker for the whole fetch wait:
// every needless pause costs up to fetchMaxWait of nothing. So the shares
// apply only once half the budget is in use, when partitions actually
// compete for it (a stuck partition still stops at half the budget plus a
// poll). The shares are counted over the source partitions only: the retry
// topic's are idle nearly always and would otherwise halve every share.
func partitionLimits(b bounds, least, sources int, used usage) limits {
	n := max(1, sources)
	lim := limits{open: b.events, bytes: b.bytes}
	if n > 1 {
		lim.open = max(least, min(b.events/2, 2*b.events/n))
		lim.bytes = min(b.bytes/2, 2*b.bytes/int64(n))
	}
	lim.span = max(lim.open, 4*b.events/n)
	if used.events < b.events/2 && used.bytes < b.bytes/2 {
		lim.open, lim.bytes = b.events, b.bytes
	}
	return lim
}

// over reports whether a partition holding in is over lim and must pause.
func over(in usage, lim limits) bool {
	return in.events > lim.open || in.bytes > lim.bytes || in.span > lim.span
}

// resumeAt returns the limits a partition paused under lim resumes at:
// half of each, so that it does not pause again on the next poll.
func resumeAt(lim limits) limits {
	return limits{open: lim.open / 2, bytes: lim.bytes / 2, span: lim.span / 2}
}

// drained reports whether a paused partition holding in may resume.
func drained(in usage, at limits) bool {
	return in.events <= at.open && in.bytes <= at.bytes && in.span <= at.span
}

// gate is one partition's pause state. The partition's ledger keeps it and
// calls it under its lock, so a pause and the resume that lifts it are
// ordered with every count they read.
type gate struct {
	paused bool
	at     limits // when paused: resume once within these
}

// handedOff reports whether a partition now holding in, under lim, must be
// paused now.
func (g *gate) handedOff(in usage, lim limits) bool {
	if g.paused || !over(in, lim) {
		return false
	}
	g.paused, g.at = true, resumeAt(lim)
	return true
}

// done reports whether a paused partition now holding in must be resumed now.
func (g *gate) done(in usage) bool {
	if !g.paused || !drained(in, g.at) {
		return false
	}
	g.paused = false
	return true
}

// closed reports whether a partition whose ledger closes must be resumed:
// no pause outlives its ledger.
func (g *gate) closed() bool {
	was := g.paused
	g.paused = false
	return was
}
