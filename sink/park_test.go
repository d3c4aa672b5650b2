package sink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hookstream/hookstream/internal/deadletter"
	"github.com/hookstream/hookstream/internal/kafkatest"
	"github.com/hookstream/hookstream/rules"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

const retryTopic = "hookstream.retry"

// parkAction is an action that parks 200ms after its endpoint starts
// failing.
func parkAction(id string) *rules.Compiled {
	return testAction(id, func(a *rules.Compiled) {
		a.Retry.ParkAfter = rules.Duration(200 * time.Millisecond)
		a.Breaker = rules.Breaker{Failures: 2, OpenFor: rules.Duration(100 * time.Millisecond)}
	})
}

// retryReader plays the processor's part for the retry topic: it reads the
// parked events, hands each back to the Sink, and commits for group up to
// the first one not yet done.
type retryReader struct {
	cons  *kgo.Client
	adm   *kadm.Client
	group string
	done  chan *kgo.Record
}

func newRetryReader(t *testing.T, cl *cluster, group string) *retryReader {
	t.Helper()
	cons := cl.NewClient(t, kgo.ConsumeTopics(retryTopic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(50*time.Millisecond))
	return &retryReader{cons: cons, adm: kadm.NewClient(cl.producer), group: group, done: make(chan *kgo.Record, 10000)}
}

// handBack reads n parked events and hands each to s for a, as the
// processor would: the source record it carries, its value as the body.
func (rr *retryReader) handBack(t *testing.T, s *Sink, a *rules.Compiled, url string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for got := 0; got < n; {
		fs := rr.cons.PollRecords(ctx, n-got)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d parked events", got, n)
		}
		for _, rec := range fs.Records() {
			got++
			if err := s.SendParked(ctx, a, url, rec.Value, deadletter.Decode(rec).Source, testAck{done: func() { rr.done <- rec }}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// commit waits for n parked events to be done and commits them as the
// processor's checkpoint does: up to the first offset not yet done, since
// the Sink may acknowledge events in any order.
func (rr *retryReader) commit(t *testing.T, n int) {
	t.Helper()
	done := map[int32]map[int64]bool{}
	next := map[int32]int64{} // each partition's first offset not done
	deadline := time.After(15 * time.Second)
	for range n {
		select {
		case rec := <-rr.done:
			if done[rec.Partition] == nil {
				done[rec.Partition] = map[int64]bool{}
			}
			done[rec.Partition][rec.Offset] = true
			for done[rec.Partition][next[rec.Partition]] {
				next[rec.Partition]++
			}
			var o kadm.Offsets
			o.AddOffset(rec.Topic, rec.Partition, next[rec.Partition], -1)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, err := rr.adm.CommitOffsets(ctx, rr.group, o)
			cancel()
			if err != nil {
				t.Fatal(err)
			}
		case <-deadline:
			t.Fatal("parked events not done")
		}
	}
}

func TestParkedActionDeliversFromTheRetryTopicInOrderThenDirectly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 20
		b := newBubble(t, kfake.SeedTopics(3, retryTopic))
		cl := b.cl
		var up atomic.Bool
		delivered := make(chan seen, 1000)
		rc := b.receiver(t, func(s seen) answer {
			if up.Load() {
				delivered <- s
				return answer{status: http.StatusOK}
			}
			return answer{status: http.StatusServiceUnavailable}
		})
		logs := &kafkatest.SyncBuffer{}
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("sink logs:\n%s", logs)
			}
		})
		s := b.sink(t, Config{Group: "g-park", Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
		a := parkAction("crm")
		// Longer than parkCheckEvery, the period of the watcher's reads of
		// the committed offsets: a drain is never cut short between two
		// reads (it costs nothing on the bubble's clock).
		a.Retry.ParkAfter = rules.Duration(4 * parkCheckEvery)
		d := newDones()
		for i := range n {
			send(t, s, a, rc.URL, i, d)
		}
		d.wait(t, n) // each done once its park write was acknowledged

		parked := cl.read(t, retryTopic, n)
		for i, r := range parked {
			if r.Partition != parked[0].Partition {
				t.Fatalf("parked events spread over partitions %d and %d; one action's must share one", parked[0].Partition, r.Partition)
			}
			if off, _ := header(r, deadletter.HeaderSourceOffset); off != fmt.Sprint(i) {
				t.Fatalf("parked event %d has source offset %s: out of order", i, off)
			}
			if act, _ := header(r, deadletter.HeaderAction); act != "crm" {
				t.Fatalf("parked event names action %q", act)
			}
		}
		// While the endpoint is still down, a parked event read back is held:
		// not done, and not parked a second time.
		rr := newRetryReader(t, cl, "g-park")
		rr.handBack(t, s, a, rc.URL, 1)
		select {
		case rec := <-rr.done:
			t.Fatalf("parked event at %d done while its endpoint is down", rec.Offset)
		case <-time.After(500 * time.Millisecond):
		}
		if end := endOffset(t, cl, retryTopic, parked[0].Partition); end != n {
			t.Fatalf("retry partition ends at %d after a parked event came back while down, want %d: it was parked again", end, n)
		}

		up.Store(true)
		rr.handBack(t, s, a, rc.URL, n-1)
		rr.commit(t, n)
		firstKey := map[string]string{} // body -> Idempotency-Key of its first attempt, failed or not
		for len(rc.got) > 0 {
			s := <-rc.got
			if _, ok := firstKey[s.body]; !ok {
				firstKey[s.body] = s.header.Get("Idempotency-Key")
			}
		}
		for i := range n {
			var got seen
			select {
			case got = <-delivered:
			case <-time.After(10 * time.Second):
				t.Fatalf("%d of %d parked events delivered", i, n)
			}
			if want, _ := event(i); got.body != string(want) {
				t.Fatalf("delivery %d is %s, want %s", i, got.body, want)
			}
			key := got.header.Get("Idempotency-Key")
			if k, ok := firstKey[got.body]; key == "" || ok && k != key {
				t.Errorf("event %d: Idempotency-Key %q, its first attempt had %q", i, key, k)
			}
		}

		// Everything parked is committed: the action delivers directly again.
		kafkatest.Eventually(t, "the action unparked", func() bool { return strings.Contains(logs.String(), "action unparked") })
		send(t, s, a, rc.URL, n, d)
		select {
		case got := <-delivered:
			if want, _ := event(n); got.body != string(want) {
				t.Fatalf("after unparking got %s", got.body)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the event after unparking was not delivered")
		}
		if end := endOffset(t, cl, retryTopic, parked[0].Partition); end != n {
			t.Fatalf("retry partition ends at %d, want %d: the event after unparking was parked", end, n)
		}
	})
}

// endOffset returns the end offset of one partition.
func endOffset(t *testing.T, cl *cluster, topic string, p int32) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ends, err := kadm.NewClient(cl.producer).ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	o, _ := ends.Lookup(topic, p)
	return o.Offset
}

func TestFailingActionWithAFullBufferParksAtOnce(t *testing.T) {
	// park_after is an hour away, but the buffer is full and the endpoint
	// failing: blocking Send would stall every other action of the caller.
	const n = 400
	cl := newCluster(t, kfake.SeedTopics(1, retryTopic))
	rc := newReceiver(t, func(seen) answer { return answer{status: http.StatusBadGateway} })
	s := newSink(t, Config{Producer: cl.producer, Group: "g-full", MaxBuffered: 4})
	a := testAction("crm", func(a *rules.Compiled) { a.Retry.ParkAfter = rules.Duration(time.Hour) })
	d := newDones()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range n {
		body, rec := event(i)
		if err := s.Send(ctx, a, rc.URL, body, rec, d.fn(fmt.Sprint(i))); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	d.wait(t, n)
	if got := len(cl.read(t, retryTopic, n)); got != n {
		t.Fatalf("%d parked", got)
	}
}

func TestSlowButHealthyActionDoesNotPark(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t, kfake.SeedTopics(1, retryTopic))
		rc := b.receiver(t, func(seen) answer {
			time.Sleep(20 * time.Millisecond) // a slow endpoint, not a failing one
			return answer{status: http.StatusOK}
		})
		s := b.sink(t, Config{Group: "g-slow", MaxBuffered: 2})
		// The endpoint takes 400ms for the 20 events, well within
		// park_after: slow, but keeping up, so not behind (behind.go).
		a := parkAction("crm")
		a.Retry.ParkAfter = rules.Duration(3 * time.Second)
		d := newDones()
		for i := range 20 {
			send(t, s, a, rc.URL, i, d)
		}
		d.wait(t, 20)
		if end := endOffset(t, b.cl, retryTopic, 0); end != 0 {
			t.Fatalf("%d events of a healthy action parked", end)
		}
	})
}

func TestFailedParkWriteLeavesTheEventUndone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t, kfake.SeedTopics(1, retryTopic))
		cl := b.cl
		var failing atomic.Bool
		failing.Store(true)
		cl.RefuseProduce(&failing, nil)
		rc := b.receiver(t, func(seen) answer { return answer{status: http.StatusServiceUnavailable} })
		logs := &kafkatest.SyncBuffer{}
		s := b.sink(t, Config{Group: "g-fail", Logger: slog.New(slog.NewTextHandler(logs, nil))})
		d := newDones()
		send(t, s, parkAction("crm"), rc.URL, 1, d)
		kafkatest.Eventually(t, "a failed park write", func() bool {
			return strings.Contains(logs.String(), "topic write failed, will retry") && strings.Contains(logs.String(), retryTopic)
		})
		if n := d.count("e1"); n != 0 {
			t.Fatalf("done called %d times while its park write fails", n)
		}
		failing.Store(false)
		d.wait(t, 1)
		if r := cl.read(t, retryTopic, 1)[0]; string(r.Key) != "crm" {
			t.Fatalf("parked key %q", r.Key)
		}
	})
}

func TestParkedEventDeadLettersAsItsSourceRecord(t *testing.T) {
	cl := newCluster(t, kfake.SeedTopics(1, retryTopic))
	s := newSink(t, Config{Producer: cl.producer, Group: "g-dl"})
	body, src := event(7)
	parked := deadletter.Park(retryTopic, "crm", src)
	parked.Partition, parked.Offset = 0, 99
	d := newDones()
	// As the processor hands it over: the source record the parked one
	// carries.
	s.DeadLetter(context.Background(), deadletter.Decode(parked).Source, deadletter.ReasonRejected, "crm", errors.New("action crm no longer exists"), d.fn("e7"))
	d.wait(t, 1)
	dl := cl.read(t, "hookstream.dlq", 1)[0]
	if string(dl.Key) != string(src.Key) || string(dl.Value) != string(body) {
		t.Errorf("dead letter key %q value %s, want the source record's", dl.Key, dl.Value)
	}
	want := map[string]string{deadletter.HeaderSourceTopic: "events", deadletter.HeaderSourcePartition: "0", deadletter.HeaderSourceOffset: "7",
		deadletter.HeaderAction: "crm", deadletter.HeaderReason: string(deadletter.ReasonRejected), "traceparent": "00-abc-def-01"}
	for k, v := range want {
		if got, _ := header(dl, k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if _, ok := header(dl, deadletter.HeaderSourceKey); ok {
		t.Errorf("dead letter carries %s", deadletter.HeaderSourceKey)
	}
}

func TestEventsWithdrawnBeforeTheyAreSent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t)
		arrived, release := make(chan struct{}), make(chan struct{})
		rc := b.receiver(t, func(s seen) answer {
			if s.n == 0 {
				close(arrived)
				<-release // the first request holds the ones queued behind it
			}
			return answer{status: http.StatusOK}
		})
		s := b.sink(t, Config{})
		a := testAction("crm", nil) // unbatched, max_in_flight 1
		d := newDones()
		var revoked atomic.Bool
		ended, stop := context.WithCancel(context.Background()) // Send's context ends too, but withdraws nothing
		for i, ctx := range []context.Context{context.Background(), context.Background(), context.Background(), ended} {
			body, rec := event(i)
			ack := d.fn(fmt.Sprintf("e%d", i))
			if i == 1 || i == 2 {
				ack.withdrawn = &revoked
			}
			if err := s.Send(ctx, a, rc.URL, body, rec, ack); err != nil {
				t.Fatal(err)
			}
		}
		select {
		case <-arrived:
		case <-time.After(10 * time.Second):
			t.Fatal("no first request")
		}
		revoked.Store(true) // e1 and e2 are queued, not sent: they are withdrawn
		stop()
		close(release)
		for _, want := range []string{`"m-0"`, `"m-3"`} {
			if got := rc.next(t); !strings.Contains(got.body, want) {
				t.Fatalf("got %s, want %s: the withdrawn events were sent", got.body, want)
			}
		}
		flush(t, s) // does not wait for the withdrawn events
		if got := d.wait(t, 2); strings.Join(got, ",") != "e0,e3" {
			t.Fatalf("done for %v, want e0 and e3", got)
		}
		rc.none(t, 100*time.Millisecond)
	})
}

func TestRetryLaneNeverBlocksSend(t *testing.T) {
	// While the endpoint is down, parked events read back are held, however
	// many: blocking their reader would stop the processor's polling.
	cl := newCluster(t, kfake.SeedTopics(1, retryTopic))
	var down atomic.Bool
	down.Store(true)
	rc := newReceiver(t, func(seen) answer {
		if down.Load() {
			return answer{status: http.StatusServiceUnavailable}
		}
		return answer{status: http.StatusOK}
	})
	s := newSink(t, Config{Producer: cl.producer, Group: "g-lane", MaxBuffered: 2})
	a := testAction("crm", batched(100, 10*time.Millisecond))
	a.Breaker = rules.Breaker{Failures: 2, OpenFor: rules.Duration(50 * time.Millisecond)}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d := newDones()
	const n = 3 * inQueue
	for i := range n {
		_, src := event(i)
		rec := deadletter.Park(retryTopic, "crm", src)
		rec.Partition, rec.Offset = 0, int64(i)
		if err := s.SendParked(ctx, a, rc.URL, rec.Value, deadletter.Decode(rec).Source, d.fn(fmt.Sprint(i))); err != nil {
			t.Fatalf("send of parked event %d: %v", i, err)
		}
	}
	down.Store(false)
	d.wait(t, n)
}
