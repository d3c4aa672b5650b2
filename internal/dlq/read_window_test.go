package dlq

import (
	"testing"
	"time"

	"github.com/hookstream/hookstream/internal/deadletter"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Read holds a window of letters per partition, not the topic: here
// partition 0 holds the 300 oldest letters and partitions 1 and 2 the 600
// newer ones, interleaved, so all of partition 0 comes first while the
// other two wait, paused once their windows are full. Written 10 letters a
// batch, and fetched a batch or two at a time.
func TestReadHoldsAWindow(t *testing.T) {
	const old, newer, batch, window = 300, 600, 10, 20
	c := startKafka(t, 3)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	var recs []*kgo.Record
	for i := range old {
		recs = append(recs, letterRecord(i, "crm", deadletter.ReasonRejected, 400, 0, at(i)))
	}
	for j := range newer {
		recs = append(recs, letterRecord(old+j, "crm", deadletter.ReasonRejected, 400, int32(1+j%2), at(1000+j)))
	}
	for i := 0; i < len(recs); i += batch {
		c.Produce(t, recs[i:i+batch]...)
	}

	small := func(int) bounds {
		return bounds{window: queued{letters: window, bytes: 1 << 20}, fetch: 4 << 10, partition: 2 << 10}
	}
	var got []Letter
	peak, err := read(t.Context(), c.Opts(), dlqTopic, Filter{}, false, small, func(l Letter) error {
		got = append(got, l)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != old+newer {
		t.Fatalf("read %d letters, want %d", len(got), old+newer)
	}
	for i := range got {
		if want := recs[i].Timestamp; !got[i].Time.Equal(want) {
			t.Fatalf("letter %d: %s (partition %d), want the one at %s: oldest first across partitions", i, got[i].Time, got[i].Partition, want)
		}
	}
	// Each partition's window, and what a fetch or two brought past it.
	if most := 3 * (window + 4*batch); peak > most {
		t.Errorf("held %d letters at once, want at most %d of the %d read", peak, most, len(got))
	}
	t.Logf("held at most %d letters of %d", peak, len(got))
}
