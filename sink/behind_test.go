package sink

import (
	"fmt"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hookstream/hookstream/internal/deadletter"
	"github.com/hookstream/hookstream/rules"
	"github.com/twmb/franz-go/pkg/kfake"
)

// TestBehindActionParks: an endpoint that answers 200, but slowly, falls
// behind the events it is handed; once the oldest has waited park_after
// the action parks, and every event is either delivered or parked, in
// source order, while Send never blocked.
func TestBehindActionParks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 40
		b := newBubble(t, kfake.SeedTopics(1, retryTopic))
		rc := b.receiver(t, func(s seen) answer {
			select { // slow, not failing
			case <-time.After(250 * time.Millisecond):
			case <-s.ctx.Done():
			}
			return answer{status: http.StatusOK}
		})
		s := b.sink(t, Config{Group: "g-behind"})
		a := testAction("slow", func(a *rules.Compiled) { a.Retry.ParkAfter = rules.Duration(300 * time.Millisecond) })
		d := newDones()
		start := time.Now()
		for i := range n {
			send(t, s, a, rc.URL, i, d)
		}
		if took := time.Since(start); took > 0 {
			t.Errorf("Send blocked for %v", took)
		}
		d.wait(t, n)
		took := time.Since(start)
		delivered := len(rc.got)
		parked := b.cl.read(t, retryTopic, n-delivered)
		t.Logf("%d delivered, %d parked, all done after %v", delivered, len(parked), took)
		if delivered+len(parked) != n || len(parked) == 0 || took > 3*time.Second {
			t.Fatalf("%d delivered and %d parked of %d after %v, want the rest parked once the oldest waited park_after", delivered, len(parked), n, took)
		}
		for i, rec := range parked {
			off, _ := header(rec, deadletter.HeaderSourceOffset)
			if want := fmt.Sprint(delivered + i); string(rec.Key) != "slow" || off != want {
				t.Errorf("parked #%d: source offset %s, want %s", i, off, want)
			}
		}
	})
}
