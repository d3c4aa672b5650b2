package dlq

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// mergeInput is letters of three partitions, in offset order, stamped in
// seconds from t0: times interleave across partitions, partitions 0 and 1
// tie at 4s, and partition 2 goes back in time (5s, then 3s). Letter
// "1@1" (partition 1, offset 1) is one the filter drops.
var mergeInput = [][]int{
	0: {1, 4, 8},
	1: {4, 6, 10},
	2: {5, 3, 9},
}

// The heads' order, ties by partition; within a partition, offset order.
var mergeWant = []string{"0@0", "0@1", "1@0", "2@0", "2@1", "0@2", "2@2", "1@2"}

func TestMergeOrder(t *testing.T) {
	for _, tc := range []struct {
		name  string
		chunk int // letters of each partition added in turn, before taking what can be taken
	}{
		{"one at a time", 1},
		{"two at a time", 2},
		{"all at once", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMerge([]int32{0, 1, 2}, queued{letters: 100, bytes: 1 << 20})
			var got []string
			for from := 0; from < 3; from += tc.chunk {
				for p, times := range mergeInput {
					for off := from; off < min(from+tc.chunk, len(times)); off++ {
						l := Letter{Time: t0.Add(time.Duration(times[off]) * time.Second), Partition: int32(p), Offset: int64(off)}
						m.add(l, 10, p == 1 && off == 1)
						if off == len(times)-1 {
							m.end(int32(p))
						}
					}
				}
				for l, ok := m.next(); ok; l, ok = m.next() {
					got = append(got, fmt.Sprintf("%d@%d", l.Partition, l.Offset))
				}
			}
			if !m.done() || !slices.Equal(got, mergeWant) {
				t.Errorf("merged %v (done %v), want %v", got, m.done(), mergeWant)
			}
		})
	}
}

// A letter leaves the merge only once every partition still being read
// has one queued: the others may yet hold an older one.
func TestMergeWaitsForEveryPartition(t *testing.T) {
	m := newMerge([]int32{0, 1}, queued{letters: 2, bytes: 1 << 20})
	m.add(Letter{Time: t0.Add(time.Second), Partition: 0, Offset: 0}, 10, false)
	m.add(Letter{Time: t0.Add(2 * time.Second), Partition: 0, Offset: 1}, 10, false)
	if l, ok := m.next(); ok {
		t.Fatalf("handed out %d@%d before partition 1 had a letter", l.Partition, l.Offset)
	}
	if !m.full(0) || m.full(1) {
		t.Errorf("full: partition 0 %v, 1 %v; want partition 0 only (2 letters queued of 2)", m.full(0), m.full(1))
	}
	m.add(Letter{Time: t0, Partition: 1, Offset: 0}, 10, false)
	if l, ok := m.next(); !ok || l.Partition != 1 {
		t.Fatalf("next = %d@%d %v, want partition 1's older letter", l.Partition, l.Offset, ok)
	}
	if l, ok := m.next(); ok {
		t.Fatalf("handed out %d@%d while partition 1, not ended, had none", l.Partition, l.Offset)
	}
	m.end(1)
	m.end(0)
	var n int
	for _, ok := m.next(); ok; _, ok = m.next() {
		n++
	}
	if n != 2 || !m.done() {
		t.Errorf("after both ended: %d letters, done %v; want partition 0's 2 and done", n, m.done())
	}
}
