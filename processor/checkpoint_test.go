package processor

import (
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// ledger is a checkpoint with hooks that record what they were asked.
type ledger struct {
	*checkpoint
	b       *budget
	marks   []int64 // written under the checkpoint's lock
	pauses  int
	resumes int
}

func newLedger(t *testing.T) *ledger {
	t.Helper()
	l := &ledger{b: newBudget(bounds{events: 1 << 30, bytes: 1 << 62}, 1, 0)}
	l.checkpoint = newCheckpoint(l.b, checkpointHooks{
		mark:   func(next kgo.EpochOffset) { l.marks = append(l.marks, next.Offset) },
		pause:  func() { l.pauses++ },
		resume: func() { l.resumes++ },
	})
	return l
}

// unlimited never pauses.
var unlimited = limits{open: 1 << 30, bytes: 1 << 62, span: 1 << 30}

// records returns one record per offset, each with a timestamp of its own.
func records(offsets ...int64) []*kgo.Record {
	base := time.Date(2026, 11, 28, 6, 0, 0, 0, time.UTC)
	recs := make([]*kgo.Record, len(offsets))
	for i, off := range offsets {
		recs[i] = &kgo.Record{Topic: "events", Offset: off, LeaderEpoch: 3, Timestamp: base.Add(time.Duration(off) * time.Second)}
	}
	return recs
}

func TestCheckpointCommitPoint(t *testing.T) {
	tests := []struct {
		name      string
		offsets   []int64
		handOvers []int // per record, given to settle
		acks      []int // record indexes, one ack each, in this order
		wantMarks []int64
	}{
		{
			name:      "in order",
			offsets:   []int64{0, 1, 2},
			handOvers: []int{1, 1, 1},
			acks:      []int{0, 1, 2},
			wantMarks: []int64{1, 2, 3},
		},
		{
			name:      "out of order over gaps",
			offsets:   []int64{3, 7, 8, 15},
			handOvers: []int{1, 1, 1, 1},
			acks:      []int{3, 1, 0, 2},
			wantMarks: []int64{8, 16},
		},
		{
			name:      "matched nothing is done at once",
			offsets:   []int64{10, 11, 12},
			handOvers: []int{0, 0, 0},
			wantMarks: []int64{11, 12, 13},
		},
		{
			name:      "done only when every hand-over is",
			offsets:   []int64{0, 1},
			handOvers: []int{3, 0},
			acks:      []int{0, 0, 0},
			wantMarks: []int64{2},
		},
		{
			name:      "a record still held stops the commit point",
			offsets:   []int64{0, 1, 2, 3},
			handOvers: []int{0, 2, 0, 1},
			acks:      []int{3, 1},
			wantMarks: []int64{1},
		},
		{
			name:      "extra acks are ignored",
			offsets:   []int64{5, 6},
			handOvers: []int{1, 1},
			acks:      []int{0, 0, 0},
			wantMarks: []int64{6},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLedger(t)
			if !l.add(records(tt.offsets...), unlimited) {
				t.Fatal("add refused by an open checkpoint")
			}
			slots := l.take(nil)
			if len(slots) != len(tt.offsets) {
				t.Fatalf("take: %d slots, want %d", len(slots), len(tt.offsets))
			}
			for i, s := range slots {
				l.settle(s, tt.handOvers[i])
				l.publish()
			}
			for _, i := range tt.acks {
				slots[i].Done()
				l.publish()
			}
			if !slices.Equal(l.marks, tt.wantMarks) {
				t.Errorf("marks = %v, want %v", l.marks, tt.wantMarks)
			}
			want := int64(-1)
			if n := len(tt.wantMarks); n > 0 {
				want = tt.wantMarks[n-1]
			}
			st := l.state()
			if st.next.Offset != want {
				t.Errorf("commit point = %d, want %d", st.next.Offset, want)
			}
			if st.next.Offset >= 0 && st.next.Epoch != 3 {
				t.Errorf("commit epoch = %d, want the record's leader epoch 3", st.next.Epoch)
			}
			if st.open != l.b.used() {
				t.Errorf("open = %d but budget counts %d", st.open, l.b.used())
			}
		})
	}
}

func TestCheckpointOldestAndQueue(t *testing.T) {
	l := newLedger(t)
	recs := records(4, 9, 20)
	l.add(recs[:2], unlimited)
	l.add(recs[2:], unlimited)
	if st := l.state(); st.queued != 3 || st.open != 3 || !st.oldest.Equal(recs[0].Timestamp) {
		t.Fatalf("state = %+v, want 3 queued, 3 open, oldest %v", st, recs[0].Timestamp)
	}
	slots := l.take(nil)
	if got := []int64{slots[0].offset, slots[1].offset, slots[2].offset}; !slices.Equal(got, []int64{4, 9, 20}) {
		t.Fatalf("take order = %v", got)
	}
	if again := l.take(make([]*slot, 0, 8)); len(again) != 0 {
		t.Fatalf("second take returned %d slots", len(again))
	}
	l.settle(slots[1], 0)
	if st := l.state(); !st.oldest.Equal(recs[0].Timestamp) || st.open != 2 {
		t.Fatalf("after 9 done: state = %+v, oldest should stay at offset 4", st)
	}
	l.settle(slots[0], 0)
	if st := l.state(); !st.oldest.Equal(recs[2].Timestamp) || st.queued != 0 {
		t.Fatalf("after 4 done: state = %+v, want oldest %v", st, recs[2].Timestamp)
	}
	l.settle(slots[2], 0)
	if st := l.state(); !st.oldest.IsZero() || st.open != 0 || st.next.Offset != 21 {
		t.Fatalf("all done: state = %+v", st)
	}
}

func TestCheckpointPauseResume(t *testing.T) {
	t.Run("records not done", func(t *testing.T) {
		l := newLedger(t)
		lim := limits{open: 4, bytes: 1 << 62, span: 1 << 30}
		l.add(records(0, 1, 2), lim)
		if l.pauses != 0 {
			t.Fatalf("paused at 3 open with limit 4")
		}
		l.add(records(3, 4, 5), lim)
		l.add(records(6), lim)
		if l.pauses != 1 {
			t.Fatalf("pauses = %d after going over the limit, want 1", l.pauses)
		}
		slots := l.take(nil)
		for _, s := range slots[:4] {
			l.settle(s, 0)
		}
		// 7 handed off, 4 done: 3 open, over the resume mark of 2.
		if l.resumes != 0 {
			t.Fatalf("resumed with 3 open, want to wait for 2")
		}
		l.settle(slots[4], 0)
		if l.resumes != 1 {
			t.Fatalf("resumes = %d at 2 open, want 1", l.resumes)
		}
		l.add(records(7), lim)
		if l.pauses != 1 {
			t.Fatalf("paused again at 3 open")
		}
	})
	t.Run("records behind a stuck one", func(t *testing.T) {
		l := newLedger(t)
		lim := limits{open: 100, bytes: 1 << 62, span: 4}
		l.add(records(0, 1, 2, 3, 4, 5), lim)
		if l.pauses != 1 {
			t.Fatalf("pauses = %d with 6 uncommitted records and a span of 4, want 1", l.pauses)
		}
		slots := l.take(nil)
		l.settle(slots[0], 1) // stuck at the head
		for _, s := range slots[1:] {
			l.settle(s, 0)
		}
		if st := l.state(); st.open != 1 || l.resumes != 0 {
			t.Fatalf("%d open, %d resumes: a stuck head must keep the partition paused", st.open, l.resumes)
		}
		slots[0].Done()
		if l.resumes != 1 {
			t.Fatalf("resumes = %d once the head moved, want 1", l.resumes)
		}
	})
}

func TestCheckpointClose(t *testing.T) {
	tests := []struct {
		name      string
		publish   bool
		wantMarks []int64
	}{
		{name: "revoked: marks the last commit point", publish: true, wantMarks: []int64{1}},
		{name: "lost: marks nothing", publish: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLedger(t)
			l.add(records(0, 1, 2, 3), limits{open: 2, bytes: 1 << 62, span: 1 << 30}) // over the limit: paused
			slots := l.take(nil)
			l.settle(slots[0], 1)
			l.settle(slots[1], 1)
			slots[0].Done() // moves the commit point to 1, not yet published
			if slots[1].Withdrawn() {
				t.Errorf("a slot of an open ledger reports Withdrawn")
			}

			l.close(tt.publish)
			if !slots[1].Withdrawn() {
				t.Errorf("a slot of a closed ledger does not report Withdrawn: the sink would still send it")
			}
			if l.resumes != 1 {
				t.Errorf("close of a paused partition: resumes = %d, want 1", l.resumes)
			}
			if l.b.used() != 0 {
				t.Errorf("budget after close = %d, want every record returned", l.b.used())
			}
			slots[1].Done() // a late ack, after revoke
			l.publish()
			if !slices.Equal(l.marks, tt.wantMarks) {
				t.Errorf("marks = %v, want %v", l.marks, tt.wantMarks)
			}
			if l.b.used() != 0 {
				t.Errorf("a late ack changed the budget to %d", l.b.used())
			}
			if l.add(records(4), limits{open: 2, bytes: 1 << 62, span: 1 << 30}) {
				t.Errorf("add accepted records after close")
			}
			l.close(true) // twice is harmless
			if l.resumes != 1 || l.b.used() != 0 || !slices.Equal(l.marks, tt.wantMarks) {
				t.Errorf("second close: resumes %d, budget %d, marks %v", l.resumes, l.b.used(), l.marks)
			}
		})
	}
}

// TestCheckpointConcurrentAcks runs the real shape of use: a poll loop
// handing off, a matcher settling each record with 0–3 hand-overs, and sinks
// acking them in random order from many goroutines.
func TestCheckpointConcurrentAcks(t *testing.T) {
	const total, ackers = 20_000, 8
	var marks []int64 // appended under the checkpoint's lock; read after every goroutine ended
	b := newBudget(bounds{events: 1 << 30, bytes: 1 << 62}, 1, 0)
	cp := newCheckpoint(b, checkpointHooks{mark: func(next kgo.EpochOffset) { marks = append(marks, next.Offset) }})

	offsets := make([]int64, total)
	for i := range offsets {
		offsets[i] = int64(2*i + i%3) // increasing, with gaps
	}
	recs := records(offsets...)

	dones := make(chan func(), 1024)
	var wg sync.WaitGroup
	for range ackers {
		wg.Go(func() {
			var held []func()
			for d := range dones {
				held = append(held, d)
				if len(held) > 64 {
					i := rand.IntN(len(held))
					held[i]()
					held = slices.Delete(held, i, i+1)
				}
			}
			rand.Shuffle(len(held), func(i, j int) { held[i], held[j] = held[j], held[i] })
			for _, d := range held {
				d()
			}
		})
	}
	matcher := make(chan struct{})
	go func() {
		defer close(matcher)
		var batch []*slot
		seen := 0
		for seen < total {
			batch = cp.take(batch)
			for _, s := range batch {
				n := seen % 4
				cp.settle(s, n)
				for range n {
					dones <- s.Done
				}
				seen++
			}
		}
		close(dones)
	}()
	publishing := make(chan struct{})
	go func() {
		for {
			select {
			case <-publishing:
				return
			default:
				cp.publish()
			}
		}
	}()
	for i := 0; i < total; i += 100 {
		cp.add(recs[i:i+100], unlimited)
	}
	<-matcher
	wg.Wait()
	publishing <- struct{}{}
	cp.publish()

	if !slices.IsSorted(marks) {
		t.Errorf("marks went backwards")
	}
	if want := offsets[total-1] + 1; len(marks) == 0 || marks[len(marks)-1] != want {
		t.Errorf("last mark = %v, want %d", marks[len(marks)-1:], want)
	}
	if st := cp.state(); st.open != 0 || b.used() != 0 {
		t.Errorf("after all acks: open %d, budget %d", st.open, b.used())
	}
}

func TestCheckpointSteadyStateAllocatesNothing(t *testing.T) {
	l := newLedger(t)
	l.marks = make([]int64, 0, 1<<16)
	recs := records(0, 1, 2, 3, 4, 5, 6, 7)
	var batch []*slot
	cycle := func() {
		l.add(recs, unlimited)
		batch = l.take(batch)
		for _, s := range batch {
			l.settle(s, 1)
		}
		for i := len(batch) - 1; i >= 0; i-- {
			batch[i].Done()
		}
		l.publish()
		l.marks = l.marks[:0]
	}
	cycle() // warm up: slots and queues are made once
	cycle()
	if n := testing.AllocsPerRun(100, cycle); n != 0 {
		t.Errorf("allocations per cycle of 8 records = %v, want 0", n)
	}
}

func BenchmarkCheckpoint(b *testing.B) {
	bud := newBudget(bounds{events: 1 << 30, bytes: 1 << 62}, 1, 0)
	cp := newCheckpoint(bud, checkpointHooks{mark: func(kgo.EpochOffset) {}})
	recs := records(make([]int64, 1000)...)
	for i := range recs {
		recs[i].Offset = int64(i)
	}
	var batch []*slot
	for b.Loop() {
		cp.add(recs, unlimited)
		batch = cp.take(batch)
		for _, s := range batch {
			cp.settle(s, 1)
			s.Done()
		}
		cp.publish()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/record")
}
