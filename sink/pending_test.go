package sink

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"
)

func TestOldestPending(t *testing.T) {
	cases := []struct {
		name   string
		status int // the answer once the receiver is released
	}{
		{"delivered", http.StatusOK},
		{"dead-lettered", http.StatusBadRequest},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			release := make(chan struct{})
			arrived := make(chan struct{}, 10)
			rc := newReceiver(t, func(s seen) answer {
				arrived <- struct{}{}
				select {
				case <-release:
				case <-s.ctx.Done():
				}
				return answer{status: c.status}
			})
			s := newSink(t, Config{})
			d := newDones()
			a := testAction("slow", nil)
			idle := testAction("idle", nil)
			oldest := time.Now().Add(-90 * time.Second)
			for i, age := range []time.Duration{90 * time.Second, 30 * time.Second, 0} {
				body, rec := event(i)
				rec.Timestamp = time.Now().Add(-age)
				if i == 0 {
					rec.Timestamp = oldest
				}
				if err := s.Send(context.Background(), a, rc.URL, body, rec, d.fn(fmt.Sprint(i))); err != nil {
					t.Fatal(err)
				}
			}
			select { // the first request is held: all three are pending
			case <-arrived:
			case <-time.After(10 * time.Second):
				t.Fatal("no request within 10s")
			}
			got := s.OldestPending()
			if want := time.Unix(oldest.Unix(), 0); !got["slow"].Equal(want) {
				t.Errorf("oldest pending of slow = %v, want %v", got["slow"], want)
			}
			if _, ok := got[idle.ID]; ok || len(got) != 1 {
				t.Errorf("OldestPending = %v, want only slow", got)
			}
			close(release)
			d.wait(t, 3)
			if got := s.OldestPending(); len(got) != 0 {
				t.Errorf("OldestPending after every event is done = %v, want none", got)
			}
		})
	}
}

func TestAgesCountEachSecond(t *testing.T) {
	a := newAges()
	if _, ok := a.oldest(); ok {
		t.Fatal("empty ages report an oldest event")
	}
	for _, sec := range []int64{50, 40, 40, 60} {
		a.add(sec)
	}
	steps := []struct {
		done int64
		want int64 // 0: none pending
	}{
		{40, 40}, // one of the two at 40 is still pending
		{40, 50},
		{60, 50},
		{50, 0},
	}
	for _, st := range steps {
		a.done(st.done)
		got, ok := a.oldest()
		switch {
		case st.want == 0 && ok:
			t.Errorf("after done(%d): oldest %d, want none", st.done, got.Unix())
		case st.want != 0 && (!ok || got.Unix() != st.want):
			t.Errorf("after done(%d): oldest %d (%v), want %d", st.done, got.Unix(), ok, st.want)
		}
	}
}
