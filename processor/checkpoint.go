package processor

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// slot is one record in a partition's ledger, from hand-off until the commit
// point has passed it. It is the Ack of each of the record's hand-overs to
// the sink. Slots are recycled, so handing a record over allocates nothing.
type slot struct {
	rec     *kgo.Record // cleared once done, so the record can be freed
	offset  int64
	epoch   int32
	pending int32 // 1 while being processed, then one per hand-over to the sink
	ts      int64 // record timestamp, unix nanoseconds
	cp      *checkpoint
}

// Done finishes one hand-over of the slot's record (Ack).
func (s *slot) Done() { s.cp.ack(s) }

// Withdrawn reports whether the slot's partition was released (Ack).
func (s *slot) Withdrawn() bool { return s.cp.withdrawn.Load() }

// slotChunk is how many slots are allocated together when the free list is
// empty.
const slotChunk = 64

// checkpointHooks are called with the checkpoint's lock held, so they are
// ordered with every other change to it. None is called after close, except
// resume by close itself. Nil hooks are skipped.
type checkpointHooks struct {
	// mark is called by publish when the commit point has moved.
	mark func(next kgo.EpochOffset)
	// pause and resume apply the decisions of the partition's gate
	// (flow.go) to its fetching.
	pause, resume func()
}

// checkpoint is one partition's ledger: every record handed off by the poll
// loop, in fetch order, with the number of hand-overs still pending. Acks
// arrive in any order from any goroutine; the commit point only moves over
// the longest prefix of done records, so nothing is ever committed ahead of a
// record that is not done. Offsets may have gaps (compaction, transaction
// markers): the ledger tracks records and commits the offset after the last
// done one, never offset arithmetic.
//
// Acks only move the commit point; publish marks it, at most once per call.
// A batch of a thousand acks would otherwise mean a thousand marks, each
// taking the client's group lock.
//
// The ledger's counts are what the flow-control policy (flow.go) reads: the
// same lock guards them, the partition's gate and the closed flag, so a mark
// or a pause can never happen after close has returned: once a partition is
// revoked, a late ack cannot mark its offset into the next owner's range.
type checkpoint struct {
	mu sync.Mutex

	ring  []*slot // not yet passed by the commit point, oldest at head; power-of-two length
	head  int
	size  int
	free  []*slot
	queue []*slot // handed off, not yet taken by the matcher

	open   int             // handed off and not yet done
	bytes  int64           // the value bytes of those
	unproc int             // handed off and not yet settled (processed)
	next   kgo.EpochOffset // commit point; Offset -1 until a record is done
	moved  bool            // next has changed since the last publish
	closed bool
	gate   gate
	// withdrawn is set once the partition is released (its context ended)
	// or the ledger closed: the acks of what it handed over no longer
	// count, and the sink drops what it has not sent yet.
	withdrawn atomic.Bool

	budget *budget
	hooks  checkpointHooks
}

func newCheckpoint(b *budget, hooks checkpointHooks) *checkpoint {
	return &checkpoint{budget: b, hooks: hooks, next: kgo.EpochOffset{Epoch: -1, Offset: -1}}
}

// add appends recs (one partition's, in fetch order) to the ledger and to
// the matcher's queue, each pending once for its processing. When the ledger
// is then over lim, the partition is paused until its gate lets it resume.
// It reports false, and takes nothing, once the checkpoint is closed.
func (c *checkpoint) add(recs []*kgo.Record, lim limits) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	var bytes int64
	for _, r := range recs {
		s := c.alloc()
		s.rec, s.offset, s.epoch, s.pending, s.ts = r, r.Offset, r.LeaderEpoch, 1, r.Timestamp.UnixNano()
		c.push(s)
		c.queue = append(c.queue, s)
		bytes += int64(len(r.Value))
	}
	c.open += len(recs)
	c.bytes += bytes
	c.unproc += len(recs)
	c.budget.add(len(recs), bytes)
	if c.gate.handedOff(c.usage(), lim) && c.hooks.pause != nil {
		c.hooks.pause()
	}
	return true
}

// take returns the records handed off since the last take, in order, and
// keeps buf (emptied) as the next queue, so two slices alternate.
func (c *checkpoint) take(buf []*slot) []*slot {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.queue
	c.queue = buf[:0]
	return out
}

// settle ends the processing of s: it is now pending once per hand-over
// (matched action or dead letter), and done at once when that is zero. Call
// it before the first hand-over, so no ack can arrive earlier.
func (c *checkpoint) settle(s *slot, handOvers int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.unproc--
		c.budget.processed(1)
	}
	s.pending += int32(handOvers) - 1
	if s.pending == 0 {
		c.done(s)
	}
}

// ack finishes one hand-over of s. It is s.Done.
func (c *checkpoint) ack(s *slot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s.pending <= 0 {
		return // a second done for the same hand-over; ignore rather than corrupt
	}
	s.pending--
	if s.pending == 0 {
		c.done(s)
	}
}

// done accounts for s becoming done and moves the commit point if s was
// the oldest record not done.
func (c *checkpoint) done(s *slot) {
	var bytes int64
	if s.rec != nil {
		bytes = int64(len(s.rec.Value))
	}
	s.rec = nil
	if c.closed {
		c.advance()
		return
	}
	c.open--
	c.bytes -= bytes
	c.budget.release(1, bytes)
	c.advance()
	if c.gate.done(c.usage()) && c.hooks.resume != nil {
		c.hooks.resume()
	}
}

// usage returns what the ledger holds, for its gate.
func (c *checkpoint) usage() usage {
	return usage{events: c.open, bytes: c.bytes, span: c.size}
}

// advance moves the commit point over the done records at the head.
func (c *checkpoint) advance() {
	for c.size > 0 && c.ring[c.head].pending == 0 {
		h := c.ring[c.head]
		c.next = kgo.EpochOffset{Epoch: h.epoch, Offset: h.offset + 1}
		c.ring[c.head] = nil
		c.head = (c.head + 1) & (len(c.ring) - 1)
		c.size--
		c.free = append(c.free, h)
		c.moved = true
	}
}

// publish marks the commit point if it moved since the last publish, unless
// the checkpoint is closed.
func (c *checkpoint) publish() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.publishLocked()
}

func (c *checkpoint) publishLocked() {
	if c.moved && !c.closed && c.hooks.mark != nil {
		c.hooks.mark(c.next)
	}
	c.moved = false
}

// close stops all marking and pausing, returns the records not done to the
// budget and drops the queue; with publish, it first marks the commit point
// one last time (on revoke and shutdown, not when the partition was lost).
// Acks may still arrive afterwards; they only recycle slots.
func (c *checkpoint) close(publish bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	if publish {
		c.publishLocked()
	}
	c.closed = true
	c.withdraw()
	c.budget.release(c.open, c.bytes)
	c.budget.processed(c.unproc)
	c.open, c.bytes, c.unproc = 0, 0, 0
	c.queue = nil
	if c.gate.closed() && c.hooks.resume != nil {
		c.hooks.resume()
	}
}

// withdraw makes every slot of the ledger report Withdrawn.
func (c *checkpoint) withdraw() { c.withdrawn.Store(true) }

// checkpointState is a snapshot for status reporting.
type checkpointState struct {
	open   int             // handed off, not done
	queued int             // handed off, not yet taken by the matcher
	oldest time.Time       // timestamp of the oldest record not done; zero if none
	next   kgo.EpochOffset // commit point; Offset -1 until a record is done
}

func (c *checkpoint) state() checkpointState {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := checkpointState{open: c.open, queued: len(c.queue), next: c.next}
	if c.size > 0 && !c.closed {
		st.oldest = time.Unix(0, c.ring[c.head].ts)
	}
	return st
}

func (c *checkpoint) alloc() *slot {
	if n := len(c.free); n > 0 {
		s := c.free[n-1]
		c.free = c.free[:n-1]
		return s
	}
	chunk := make([]slot, slotChunk)
	for i := range chunk {
		s := &chunk[i]
		s.cp = c
		if i > 0 {
			c.free = append(c.free, s)
		}
	}
	return &chunk[0]
}

func (c *checkpoint) push(s *slot) {
	if c.size == len(c.ring) {
		ring := make([]*slot, max(2*len(c.ring), slotChunk))
		for i := range c.size {
			ring[i] = c.ring[(c.head+i)&(len(c.ring)-1)]
		}
		c.ring, c.head = ring, 0
	}
	c.ring[(c.head+c.size)&(len(c.ring)-1)] = s
	c.size++
}
