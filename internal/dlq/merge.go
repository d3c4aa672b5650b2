package dlq

import (
	"cmp"
	"container/heap"
)

// merge puts the letters of several partitions in one order, oldest first,
// while they are read: each partition is read in offset order, and a letter
// leaves the merge once every partition still being read has one queued,
// the letter at the head of its queue being the oldest of those heads
// (ties by partition, then offset). So it holds only what one partition
// was read ahead of the others, and the reader pauses a partition whose
// queue is full (see full).
//
// Each partition of the dead-letter topic is written in time order, give
// or take its writers' clocks. Where a partition's times go backwards, the
// merge keeps that partition's offset order (the order the broker took the
// letters in) and orders across partitions by the heads' times: the output
// is then time-ordered except where one partition's own times were not.
//
// Letters the filter drops still pass through the merge, as marks that are
// never handed out: a partition whose letters are all dropped still shows
// how far in time it has been read, so the others need not wait for its
// end.
type merge struct {
	queues  map[int32]*queue
	heads   heads // the queues with a letter, by their head
	starved int   // partitions being read with nothing queued
	limit   queued
	held    int // letters queued, in every partition
	peak    int // the most letters ever held
}

// queued is how much a queue holds: letters, and bytes of their records.
type queued struct{ letters, bytes int }

// queue is the letters read from one partition and not yet handed out.
type queue struct {
	items []item
	first int // index of the head in items
	size  queued
	ended bool // the partition was read to its end
	at    int  // index in heads, -1 if not there
}

type item struct {
	l     Letter
	bytes int
	drop  bool // not selected: a mark of progress only
}

// newMerge merges partitions, each queue full at limit.
func newMerge(partitions []int32, limit queued) *merge {
	m := &merge{queues: make(map[int32]*queue, len(partitions)), limit: limit}
	for _, p := range partitions {
		m.queues[p] = &queue{at: -1}
	}
	m.starved = len(partitions)
	return m
}

// add queues letter l of partition l.Partition, read from a record of
// bytes bytes; drop marks a letter the filter did not select.
func (m *merge) add(l Letter, bytes int, drop bool) {
	q := m.queues[l.Partition]
	q.items = append(q.items, item{l: l, bytes: bytes, drop: drop})
	q.size.letters++
	q.size.bytes += bytes
	m.held++
	m.peak = max(m.peak, m.held)
	if q.at < 0 {
		m.starved--
		heap.Push(&m.heads, q)
	}
}

// end says partition p was read to its end.
func (m *merge) end(p int32) {
	q := m.queues[p]
	if !q.ended && q.at < 0 {
		m.starved--
	}
	q.ended = true
}

// next returns the oldest selected letter, if every partition still being
// read has a letter queued; ok false means read more (or, with done, that
// every letter has been handed out).
func (m *merge) next() (l Letter, ok bool) {
	for m.starved == 0 && len(m.heads) > 0 {
		q := m.heads[0]
		it := q.items[q.first]
		q.items[q.first] = item{} // let the letter go
		q.first++
		q.size.letters--
		q.size.bytes -= it.bytes
		m.held--
		if q.first == len(q.items) {
			q.items, q.first = q.items[:0], 0
			heap.Pop(&m.heads)
			if !q.ended {
				m.starved++
			}
		} else {
			if q.first >= 1024 && q.first*2 >= len(q.items) {
				// Move the queue to the front rather than grow its array.
				n := copy(q.items, q.items[q.first:])
				clear(q.items[n:])
				q.items, q.first = q.items[:n], 0
			}
			heap.Fix(&m.heads, 0)
		}
		if !it.drop {
			return it.l, true
		}
	}
	return Letter{}, false
}

// done reports whether every partition was read to its end and handed out.
func (m *merge) done() bool { return m.starved == 0 && len(m.heads) == 0 }

// full reports whether partition p holds as much as a queue may: its
// reading pauses until the others catch up.
func (m *merge) full(p int32) bool {
	s := m.queues[p].size
	return s.letters >= m.limit.letters || s.bytes >= m.limit.bytes
}

// heads is a heap of queues by their head letter.
type heads []*queue

func (h heads) Len() int { return len(h) }
func (h heads) Less(i, j int) bool {
	a, b := &h[i].items[h[i].first].l, &h[j].items[h[j].first].l
	return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.Partition, b.Partition), cmp.Compare(a.Offset, b.Offset)) < 0
}
func (h heads) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].at, h[j].at = i, j
}
func (h *heads) Push(x any) {
	q := x.(*queue)
	q.at = len(*h)
	*h = append(*h, q)
}
func (h *heads) Pop() any {
	old := *h
	q := old[len(old)-1]
	old[len(old)-1] = nil
	q.at = -1
	*h = old[:len(old)-1]
	return q
}
