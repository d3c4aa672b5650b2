package sink

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hookstream/hookstream/internal/deadletter"
	"github.com/hookstream/hookstream/rules"
)

// events decodes a batched body and returns each event's "event" field.
func events(t *testing.T, body string) []string {
	t.Helper()
	var evs []struct {
		Event string `json:"event"`
	}
	if err := json.Unmarshal([]byte(body), &evs); err != nil {
		t.Fatalf("body is not a JSON array: %v: %.200s", err, body)
	}
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Event
	}
	return out
}

func TestBatchedBody(t *testing.T) {
	rc := newReceiver(t, nil)
	s := newSink(t, Config{})
	d := newDones()
	a := testAction("batch", batched(3, time.Hour))
	var want []string
	for i := range 3 {
		send(t, s, a, rc.URL, i, d)
		body, _ := event(i)
		want = append(want, string(body))
	}
	got := rc.next(t)
	if wantBody := "[" + strings.Join(want, ",") + "]"; got.body != wantBody {
		t.Fatalf("body\n%s\nwant the events' bytes joined\n%s", got.body, wantBody)
	}
	d.wait(t, 3)
}

// TestBatchesFullUnderLoad runs on synctest's clock, so that "no request
// after the three batches" is checked once everything has settled.
func TestBatchesFullUnderLoad(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t)
		rc := b.receiver(t, nil)
		s := b.sink(t, Config{MaxBuffered: 5000})
		d := newDones()
		a := testAction("load", func(a *rules.Compiled) {
			batched(1000, time.Hour)(a)
			a.MaxInFlight = 4
		})
		// Four senders at once, as partitions would.
		errs := make(chan error, 4)
		for g := range 4 {
			go func() {
				for i := g; i < 2500; i += 4 {
					body, rec := event(i)
					if err := s.Send(context.Background(), a, rc.URL, body, rec, d.fn(fmt.Sprint(i))); err != nil {
						errs <- err
						return
					}
				}
				errs <- nil
			}()
		}
		for range 4 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		flush(t, s)
		var sizes []int
		seen := map[string]bool{}
		for range 3 {
			evs := events(t, rc.next(t).body)
			sizes = append(sizes, len(evs))
			for _, e := range evs {
				if seen[e] {
					t.Fatalf("%s sent twice", e)
				}
				seen[e] = true
			}
		}
		synctest.Wait()
		if n := len(rc.got); n != 0 {
			t.Fatalf("%d requests after the three batches, want none", n)
		}
		full := 0
		for _, n := range sizes {
			if n > 1000 {
				t.Fatalf("batch of %d over size 1000", n)
			}
			if n == 1000 {
				full++
			}
		}
		if full != 2 || len(seen) != 2500 {
			t.Fatalf("batch sizes %v: want two full batches and the rest flushed", sizes)
		}
	})
}

// TestBatchWait runs on synctest's clock: a partial batch goes out exactly
// batch.wait after its first event, not before and not later.
func TestBatchWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t)
		rc := b.receiver(t, nil)
		s := b.sink(t, Config{})
		d := newDones()
		const wait = time.Second
		a := testAction("wait", batched(1000, wait))
		start := time.Now()
		for i := range 3 {
			send(t, s, a, rc.URL, i, d)
		}
		got := rc.next(t)
		if waited := got.at.Sub(start); waited != wait {
			t.Errorf("partial batch sent after %s, want batch.wait %s", waited, wait)
		}
		if evs := events(t, got.body); len(evs) != 3 {
			t.Errorf("partial batch of %d events, want 3", len(evs))
		}
		d.wait(t, 3)
	})
}

func TestBatchesNeverMixURLs(t *testing.T) {
	rc := newReceiver(t, nil)
	s := newSink(t, Config{})
	d := newDones()
	a := testAction("per-user", batched(1000, time.Hour))
	for i := range 10 {
		send(t, s, a, fmt.Sprintf("%s/users/%d", rc.URL, i%3), i, d)
	}
	flush(t, s)
	byPath := map[string]string{}
	for range 3 {
		got := rc.next(t)
		byPath[got.path] = strings.Join(events(t, got.body), " ")
	}
	want := map[string]string{
		"/users/0": "e0 e3 e6 e9",
		"/users/1": "e1 e4 e7",
		"/users/2": "e2 e5 e8",
	}
	for p, w := range want {
		if byPath[p] != w {
			t.Errorf("%s got %q, want %q", p, byPath[p], w)
		}
	}
}

func TestMaxBytes(t *testing.T) {
	rc := newReceiver(t, nil)
	s := newSink(t, Config{})
	d := newDones()
	body, _ := event(0) // every event of 0..9 has the same length
	n := len(body)
	maxBytes := 2 + 3*n + 2 // room for three events, not four
	a := testAction("capped", func(a *rules.Compiled) {
		a.Batch = &rules.Batch{Size: 1000, Wait: rules.Duration(time.Hour), MaxBytes: maxBytes}
	})
	for i := range 10 {
		send(t, s, a, rc.URL, i, d)
	}
	flush(t, s)
	var sizes []int
	for range 4 {
		got := rc.next(t)
		if len(got.body) > maxBytes {
			t.Errorf("body of %d bytes over max_bytes %d", len(got.body), maxBytes)
		}
		sizes = append(sizes, len(events(t, got.body)))
	}
	if fmt.Sprint(sizes) != "[3 3 3 1]" {
		t.Errorf("batch sizes %v, want [3 3 3 1]", sizes)
	}
}

func TestBatcher(t *testing.T) {
	ev := func(n int) item { return item{body: []byte(strings.Repeat("x", n))} }
	cases := []struct {
		name     string
		size     int
		maxBytes int
		adds     []int // event sizes
		wantFull []bool
		fits     int // size of one more event
		wantFits bool
	}{
		{"full at size", 3, 0, []int{5, 5, 5}, []bool{false, false, true}, 5, true},
		{"fits exactly", 10, 2 + 5 + 1 + 5, []int{5}, []bool{false}, 5, true},
		{"one byte over", 10, 2 + 5 + 1 + 5, []int{5}, []bool{false}, 6, false},
		{"reaching max_bytes is full", 10, 2 + 5, []int{5}, []bool{true}, 1, false},
		{"empty takes anything", 10, 4, nil, nil, 100, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := testAction("b", func(a *rules.Compiled) {
				a.Batch = &rules.Batch{Size: c.size, Wait: rules.Duration(time.Second), MaxBytes: c.maxBytes}
			})
			b := newBatcher(policyOf(a), "u")
			now := time.Now()
			for i, n := range c.adds {
				if full := b.Add(ev(n), now); full != c.wantFull[i] {
					t.Fatalf("add %d: full=%v, want %v", i, full, c.wantFull[i])
				}
			}
			if got := b.Fits(c.fits); got != c.wantFits {
				t.Fatalf("Fits(%d) = %v, want %v", c.fits, got, c.wantFits)
			}
			if len(c.adds) == 0 {
				if b.Flush() != nil {
					t.Fatal("empty batcher flushed a batch")
				}
				return
			}
			if u := b.UntilNext(now.Add(400 * time.Millisecond)); u != 600*time.Millisecond {
				t.Fatalf("UntilNext = %s, want 600ms", u)
			}
			out := b.Flush()
			if want := len(joined(out.items)); out.body.Len() != want || b.Len() != 0 {
				t.Fatalf("flushed body of %d bytes, want %d; %d left", out.body.Len(), want, b.Len())
			}
		})
	}
}

func TestVersionChangeFlushesFirst(t *testing.T) {
	rc := newReceiver(t, nil)
	s := newSink(t, Config{})
	d := newDones()
	version := func(v string) *rules.Compiled {
		return testAction("reloaded", func(a *rules.Compiled) {
			batched(10, time.Hour)(a)
			a.Header = [][2]string{{"X-Version", v}}
		})
	}
	v1, v2 := version("1"), version("2")
	for i := range 3 {
		send(t, s, v1, rc.URL, i, d)
	}
	for i := 3; i < 5; i++ {
		send(t, s, v2, rc.URL, i, d)
	}
	flush(t, s)
	first, second := rc.next(t), rc.next(t)
	if v, evs := first.header.Get("X-Version"), events(t, first.body); v != "1" || strings.Join(evs, " ") != "e0 e1 e2" {
		t.Errorf("first request: version %s with %v, want version 1 with e0 e1 e2", v, evs)
	}
	if v, evs := second.header.Get("X-Version"), events(t, second.body); v != "2" || strings.Join(evs, " ") != "e3 e4" {
		t.Errorf("second request: version %s with %v, want version 2 with e3 e4", v, evs)
	}
}

func TestTooLargeSplitsInHalves(t *testing.T) {
	cl := newCluster(t)
	rc := newReceiver(t, func(s seen) answer {
		if strings.Contains(s.body, `"e2"`) || strings.Count(s.body, "messageId") > 2 {
			return answer{status: http.StatusRequestEntityTooLarge}
		}
		return answer{status: http.StatusOK}
	})
	s := newSink(t, Config{Producer: cl.producer})
	d := newDones()
	a := testAction("split", batched(4, time.Hour))
	for i := range 4 {
		send(t, s, a, rc.URL, i, d)
	}
	var got []string
	for range 5 {
		got = append(got, strings.Join(events(t, rc.next(t).body), ","))
	}
	// [0..3] too large -> [0,1] ok, [2,3] too large -> [2] still too large, [3] ok
	if want := "e0,e1,e2,e3 e0,e1 e2,e3 e2 e3"; strings.Join(got, " ") != want {
		t.Fatalf("requests %q, want %q", strings.Join(got, " "), want)
	}
	d.wait(t, 4)
	dead := cl.read(t, "hookstream.dlq", 1)
	if r, _ := header(dead[0], deadletter.HeaderReason); r != string(deadletter.ReasonRejected) || string(dead[0].Key) != "u-2" {
		t.Fatalf("dead letter %s with reason %q, want u-2 rejected", dead[0].Key, r)
	}
	if st, _ := header(dead[0], deadletter.HeaderStatus); st != "413" {
		t.Fatalf("hookstream-status %q, want 413", st)
	}
}
