package dlq

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hookstream/hookstream/internal/deadletter"
	"github.com/hookstream/hookstream/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kgo"
)

// spread writes n dead letters one second apart from t0, letter i on
// partition i%parts: actions crm, billing and a poison record in turn.
func spread(t *testing.T, c *kafkatest.Cluster, n int, parts int32) {
	t.Helper()
	recs := make([]*kgo.Record, n)
	for i := range n {
		switch i % 3 {
		case 0:
			recs[i] = letterRecord(i, "crm", deadletter.ReasonRejected, 400, int32(i)%parts, t0.Add(time.Duration(i)*time.Second))
		case 1:
			recs[i] = letterRecord(i, "billing", deadletter.ReasonRetriesExhausted, 503, int32(i)%parts, t0.Add(time.Duration(i)*time.Second))
		case 2:
			recs[i] = letterRecord(i, "", deadletter.ReasonDecode, 0, int32(i)%parts, t0.Add(time.Duration(i)*time.Second))
		}
	}
	c.Produce(t, recs...)
}

func ids(is ...int) []string {
	out := make([]string, len(is))
	for k, i := range is {
		out[k] = fmt.Sprintf("m-%d", i)
		if i%3 == 2 {
			out[k] = "poison"
		}
	}
	return out
}

func TestReadFilters(t *testing.T) {
	c := startKafka(t, 3)
	spread(t, c, 12, 3)
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Second) }
	for _, tc := range []struct {
		name string
		f    Filter
		want []string
	}{
		{"all, newest last", Filter{}, ids(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)},
		{"action", Filter{Actions: []string{"crm"}}, ids(0, 3, 6, 9)},
		{"two reasons", Filter{Reasons: []deadletter.Reason{deadletter.ReasonDecode, deadletter.ReasonRetriesExhausted}}, ids(1, 2, 4, 5, 7, 8, 10, 11)},
		{"since", Filter{Since: at(9)}, ids(9, 10, 11)},
		{"until", Filter{Until: at(2)}, ids(0, 1, 2)},
		{"window and action", Filter{Since: at(3), Until: at(10), Actions: []string{"billing"}}, ids(4, 7, 10)},
		{"after the last", Filter{Since: at(12)}, ids()},
		{"before the first", Filter{Until: at(-1)}, ids()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readAll(t.Context(), c.Opts(), dlqTopic, tc.f, false)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(messageIDs(got), tc.want) {
				t.Errorf("read %v, want %v", messageIDs(got), tc.want)
			}
		})
	}
}

func TestReadLetter(t *testing.T) {
	c := startKafka(t, 1)
	c.Produce(t, letterRecord(7, "crm", deadletter.ReasonRejected, 400, 0, t0))
	for _, keep := range []bool{false, true} {
		got, err := readAll(t.Context(), c.Opts(), dlqTopic, Filter{}, keep)
		if err != nil || len(got) != 1 {
			t.Fatalf("read %d letters, %v; want 1", len(got), err)
		}
		l := got[0]
		want := Letter{Time: t0, Action: "crm", Reason: deadletter.ReasonRejected, Status: 400, Error: "status 400", Attempts: 1,
			SourceTopic: "events", SourcePartition: 3, SourceOffset: 1007, MessageID: "m-7", Partition: 0, Offset: 0}
		if !l.Time.Equal(want.Time) {
			t.Errorf("keep %v: time %v, want %v", keep, l.Time, want.Time)
		}
		l.Time, l.source = want.Time, nil // compared above; kept or not below
		if l != want {
			t.Errorf("keep %v: letter %+v, want %+v", keep, l, want)
		}
		if (got[0].source != nil) != keep {
			t.Errorf("keep %v: source kept %v", keep, got[0].source != nil)
		}
	}
}

func TestReadNoTopic(t *testing.T) {
	c := startKafka(t, 1)
	if _, err := readAll(t.Context(), c.Opts(), "no-such-topic", Filter{}, false); !errors.Is(err, ErrNoTopic) {
		t.Fatalf("read a missing topic: %v, want ErrNoTopic", err)
	}
}

// The offsets read are those the time filters can match, looked up by
// timestamp: from the first record at or after Since, to the first after
// Until (plus clockSlack).
func TestOffsetRangesByTime(t *testing.T) {
	const n, parts = 600, 3
	c := startKafka(t, parts)
	spread(t, c, n, parts)
	since, until := t0.Add(150*time.Second), t0.Add(200*time.Second)
	// Letter i is offset i/parts of partition i%parts, at t0+i seconds.
	first := func(p int, after time.Time) int64 {
		for i := p; i < n; i += parts {
			if !t0.Add(time.Duration(i) * time.Second).Before(after) {
				return int64(i / parts)
			}
		}
		return n / parts
	}
	for _, tc := range []struct {
		name string
		f    Filter
		want func(p int) offsetRange
	}{
		{"no times", Filter{}, func(int) offsetRange { return offsetRange{0, n / parts} }},
		{"since", Filter{Since: since}, func(p int) offsetRange { return offsetRange{first(p, since), n / parts} }},
		{"until", Filter{Until: until}, func(p int) offsetRange {
			return offsetRange{0, first(p, until.Add(clockSlack+time.Millisecond))}
		}},
		{"both", Filter{Since: since, Until: until}, func(p int) offsetRange {
			return offsetRange{first(p, since), first(p, until.Add(clockSlack+time.Millisecond))}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := offsetRanges(t.Context(), c.Admin, dlqTopic, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			for p := range parts {
				if want := tc.want(p); got[int32(p)] != want {
					t.Errorf("partition %d: offsets %v, want %v", p, got[int32(p)], want)
				}
			}
		})
	}
	// A window after every record reads nothing.
	got, err := offsetRanges(t.Context(), c.Admin, dlqTopic, Filter{Since: t0.Add(n * time.Second)})
	if err != nil || len(got) != 0 {
		t.Errorf("offsets after the last record = %v, %v; want none", got, err)
	}
}

// Read stops at the end offsets listed when it started, even while dead
// letters keep arriving.
func TestReadStopsAtStartEnd(t *testing.T) {
	c := startKafka(t, 2)
	spread(t, c, 100, 2)
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 100; ctx.Err() == nil; i++ {
			c.Client.ProduceSync(ctx, letterRecord(i, "crm", deadletter.ReasonRejected, 400, int32(i%2), t0.Add(time.Duration(i)*time.Second)))
		}
	})
	rctx, rcancel := context.WithTimeout(t.Context(), 30*time.Second)
	got, err := readAll(rctx, c.Opts(), dlqTopic, Filter{}, false)
	rcancel()
	cancel()
	wg.Wait()
	if err != nil {
		t.Fatalf("read while the topic grows: %v", err)
	}
	if len(got) < 100 || !slices.Equal(messageIDs(got[:100]), ids(seq(100)...)) {
		t.Errorf("read %d letters starting %v, want the first 100 in order", len(got), messageIDs(got[:min(len(got), 5)]))
	}
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}
