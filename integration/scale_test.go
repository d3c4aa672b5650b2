package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hookstream/hookstream/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// fastGroup lets a crashed worker's partitions move within about a second:
// the cluster accepts short sessions and the workers ask for one.
var fastGroup = []string{"HOOKSTREAM_SESSION_TIMEOUT=1500ms"}

// tally is a receiver's answer that counts each messageId it is sent, so a
// test can wait for n distinct events without parsing every body seen so
// far at each request.
type tally struct {
	mu     sync.Mutex
	seen   map[string]int
	unique atomic.Int64
}

func newTally() *tally { return &tally{seen: map[string]int{}} }

var messageIDField = []byte(`"messageId":"`)

func (tl *tally) answer(_ int, _ *http.Request, body []byte) (int, http.Header) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	for {
		i := bytes.Index(body, messageIDField)
		if i < 0 {
			return http.StatusOK, nil
		}
		body = body[i+len(messageIDField):]
		j := bytes.IndexByte(body, '"')
		if j < 0 {
			return http.StatusOK, nil
		}
		id := string(body[:j])
		if tl.seen[id]++; tl.seen[id] == 1 {
			tl.unique.Add(1)
		}
	}
}

// waitUnique blocks until rv was sent want distinct events, or fails.
func waitUnique(t *testing.T, rv *receiver, tl *tally, want int) {
	t.Helper()
	rv.await(t, fmt.Sprintf("%d distinct events", want), func() bool { return tl.unique.Load() >= int64(want) })
}

// duplicates checks every copy of an event delivered more than once against
// its first copy — same body (so the same messageId) and same
// Idempotency-Key — and returns how many extra copies there were.
func duplicates(t *testing.T, reqs []request) int {
	t.Helper()
	type copy struct {
		key  string
		body []byte
	}
	first := map[string]copy{}
	dups := 0
	for _, r := range reqs {
		if r.Status/100 != 2 {
			continue
		}
		id := ids(t, r.Body)[0] // unbatched: one event per request
		c, ok := first[id]
		if !ok {
			first[id] = copy{r.Header.Get("Idempotency-Key"), r.Body}
			continue
		}
		dups++
		if got := r.Header.Get("Idempotency-Key"); got != c.key || c.key == "" {
			t.Errorf("event %s delivered again with Idempotency-Key %q, first copy had %q", id, got, c.key)
		}
		if !bytes.Equal(r.Body, c.body) {
			t.Errorf("event %s delivered again with body %s, first copy was %s", id, r.Body, c.body)
		}
	}
	return dups
}

const unbatchedRules = `actions:
- id: all
  trigger: "true"
  url: URL/all
  max_in_flight: 4
`

// TestCrashAndScaleOutLoseNothing: three workers share twelve partitions;
// one is killed with SIGKILL mid-stream and a fourth joins later. Every
// event is delivered, every partition ends committed at its end offset, and
// each duplicate the crash caused is the same request as the first copy.
func TestCrashAndScaleOutLoseNothing(t *testing.T) {
	const parts, n, chunks = 12, 3000, 10
	c := startCluster(t, parts)
	tl := newTally()
	rv := startReceiver(t, tl.answer)
	rules := rulesFor(unbatchedRules, rv.URL)
	cfg := writeConfig(t, "commit_interval: 100ms\n")
	var ws []*worker
	for range 3 {
		ws = append(ws, startWorker(t, c, "g-crash", rules, fastGroup, "--config", cfg))
	}
	recs := trackRecords(n, parts)
	for k := range chunks {
		c.Produce(t, recs[k*n/chunks:(k+1)*n/chunks]...)
		switch k {
		case 3:
			ws[1].stop(t, syscall.SIGKILL)
		case 6:
			ws = append(ws, startWorker(t, c, "g-crash", rules, fastGroup, "--config", cfg))
		}
		waitUnique(t, rv, tl, k*n/chunks) // the stream keeps flowing: the previous chunk is in
	}
	waitUnique(t, rv, tl, n)
	waitCommitted(t, c, "g-crash", c.EndOffsets(t, "events"))
	dups := duplicates(t, rv.requests())
	t.Logf("3 workers, one killed mid-stream, one added: %d events, %d duplicates (%.2f%%)", n, dups, 100*float64(dups)/n)
}

// notAhead samples the group's committed offsets and checks none is past
// the first record whose event has not been delivered yet. The offsets are
// read before the deliveries, so a delivery in between cannot hide a
// commit that was ahead.
func notAhead(t *testing.T, c *kafkatest.Cluster, group string, recs []*kgo.Record, rv *receiver) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := c.Admin.FetchOffsetsForTopics(ctx, group, "events")
	if errors.Is(err, kerr.GroupIDNotFound) {
		return // nobody joined yet: nothing committed
	}
	if err != nil {
		t.Fatalf("fetch offsets of %s: %v", group, err)
	}
	committed := map[int32]int64{}
	for p, o := range resp["events"] {
		if o.Err == nil && o.At >= 0 {
			committed[p] = o.At
		}
	}
	first := firstUndelivered(recs, delivered(t, rv.requests()))
	for p, at := range committed {
		if f, ok := first[p]; ok && at > f {
			t.Fatalf("partition %d committed at %d, past its first undelivered record %d", p, at, f)
		}
	}
}

// TestRepeatedRebalancesLoseNothing delivers a stream while workers join
// and leave (SIGTERM and SIGKILL) every round: nothing is lost, no commit is
// ever ahead of delivery, and no partition is left behind.
func TestRepeatedRebalancesLoseNothing(t *testing.T) {
	const parts, chunk, rounds = 12, 300, 12
	c := startCluster(t, parts)
	tl := newTally()
	rv := startReceiver(t, tl.answer)
	rules := rulesFor(`actions:
- id: all
  trigger: "true"
  url: URL/all
  batch: {size: 20, wait: 20ms}
`, rv.URL)
	cfg := writeConfig(t, "commit_interval: 100ms\n")
	start := func() *worker { return startWorker(t, c, "g-churn", rules, fastGroup, "--config", cfg) }
	start() // stays for the whole test
	var churn []*worker
	recs := trackRecords(chunk*rounds, parts)
	kills := 0
	for k := range rounds {
		c.Produce(t, recs[k*chunk:(k+1)*chunk]...)
		switch {
		case k%3 != 2 || len(churn) == 0:
			churn = append(churn, start())
		case k%2 == 0:
			churn[0].stop(t, syscall.SIGKILL)
			churn = churn[1:]
			kills++
		default:
			if code := churn[0].stop(t, syscall.SIGTERM); code != 0 {
				t.Fatalf("worker left with exit code %d", code)
			}
			churn = churn[1:]
		}
		notAhead(t, c, "g-churn", recs[:(k+1)*chunk], rv)
		waitUnique(t, rv, tl, k*chunk)
		notAhead(t, c, "g-churn", recs[:(k+1)*chunk], rv)
	}
	waitUnique(t, rv, tl, chunk*rounds)
	waitCommitted(t, c, "g-churn", c.EndOffsets(t, "events"))
	seen := delivered(t, rv.requests())
	dups := 0
	for _, k := range seen {
		dups += k - 1
	}
	t.Logf("%d rounds of joins and leaves (%d kills): %d events, %d duplicates (%.2f%%)",
		rounds, kills, chunk*rounds, dups, 100*float64(dups)/float64(chunk*rounds))
}

// TestRevokeDuringInFlightBatchCommitsNothingPastIt holds one worker's first
// request open while a second worker joins and takes some of its
// partitions: the revoked partitions are committed only up to what was
// delivered, the new owner delivers them again, and the held request's
// late answer moves no commit.
func TestRevokeDuringInFlightBatchCommitsNothingPastIt(t *testing.T) {
	const parts, n = 4, 200
	c := startCluster(t, parts)
	arrived, release := make(chan []byte, 1), make(chan struct{})
	var first atomic.Bool
	rv := startReceiver(t, func(_ int, _ *http.Request, body []byte) (int, http.Header) {
		if first.CompareAndSwap(false, true) {
			arrived <- body
			<-release // the first request stays in flight until released
		}
		return http.StatusOK, nil
	})
	var once sync.Once
	releaseAll := func() { once.Do(func() { close(release) }) }
	t.Cleanup(releaseAll)
	rules := rulesFor(`actions:
- id: all
  trigger: "true"
  url: URL/all
  batch: {size: 20, wait: 20ms}
  timeout: 60s
`, rv.URL)
	cfg := writeConfig(t, "commit_interval: 100ms\n")
	recs := trackRecords(n, parts)
	c.Produce(t, recs...)
	startWorker(t, c, "g-revoke", rules, fastGroup, "--config", cfg)
	// With max_in_flight 1, nothing of the first worker's is delivered
	// while its first batch is held.
	var held []byte
	select {
	case <-time.After(kafkatest.WaitTimeout):
		t.Fatal("the first request never came")
	case held = <-arrived:
	}
	startWorker(t, c, "g-revoke", rules, fastGroup, "--config", cfg)
	rv.waitFor(t, "deliveries by the second worker while the first batch is held", func(r []request) bool {
		return len(delivered(t, r)) > 0
	})
	notAhead(t, c, "g-revoke", recs, rv)
	waitCommittedSome(t, c, "g-revoke")
	notAhead(t, c, "g-revoke", recs, rv)

	releaseAll()
	rv.waitFor(t, "every event, and the held request answered", func(r []request) bool {
		return len(delivered(t, r)) >= n && slices.ContainsFunc(r, func(q request) bool { return bytes.Equal(q.Body, held) })
	})
	ends := c.EndOffsets(t, "events")
	waitCommitted(t, c, "g-revoke", ends)
	// The held batch's late answer must not put an old offset back: a late
	// mark would be committed within a commit interval or two.
	<-time.After(500 * time.Millisecond) // a window to see what must not happen
	for p, at := range c.Committed(t, "g-revoke", "events") {
		if at != ends[p] {
			t.Fatalf("partition %d committed back at %d after the late answer, end is %d", p, at, ends[p])
		}
	}
}

// waitCommittedSome waits until the group has committed past offset 0 on
// some partition: the new owner's deliveries are being committed. Offsets
// live in the broker: polled.
func waitCommittedSome(t *testing.T, c *kafkatest.Cluster, group string) {
	t.Helper()
	kafkatest.Eventually(t, "a commit by the new owner", func() bool {
		for _, at := range c.Committed(t, group, "events") {
			if at > 0 {
				return true
			}
		}
		return false
	})
}
