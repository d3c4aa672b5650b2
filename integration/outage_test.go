package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hookstream/hookstream/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// brokerProcess is a `hookstream broker --data-dir` process.
type brokerProcess struct {
	cmd  *exec.Cmd
	done chan error
}

// startBroker runs `hookstream broker` on addr with its data in dir and
// returns once it listens.
func startBroker(t *testing.T, addr, dir string) *brokerProcess {
	t.Helper()
	cmd := exec.Command(binary, "broker", "--listen", addr, "--topic", "events:4", "--data-dir", dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	b := &brokerProcess{cmd: cmd, done: make(chan error, 1)}
	listening := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "hookstream broker listening") {
				close(listening)
				break
			}
		}
		_, _ = io.Copy(io.Discard, out)
		b.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-b.done
		}
	})
	select {
	case <-listening:
	case err := <-b.done:
		t.Fatalf("broker exited before listening: %v", err)
	case <-time.After(kafkatest.WaitTimeout):
		t.Fatal("broker did not start listening")
	}
	return b
}

func (b *brokerProcess) stop(t *testing.T) {
	t.Helper()
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-b.done:
	case <-time.After(kafkatest.WaitTimeout):
		t.Fatal("broker did not stop")
	}
}

// produced is what the steady producer wrote: each event's partition and
// offset, by index.
type produced struct {
	mu     sync.Mutex
	at     map[int]kgo.Record // index → topic, partition, offset
	errs   []error
	acked  int
	asked  int
	lastOK int // highest index acknowledged
}

// produceSteadily writes one event every interval until ctx ends, then
// waits for every write to be acknowledged.
func produceSteadily(ctx context.Context, cl *kgo.Client, interval time.Duration, p *produced) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var wg sync.WaitGroup
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-tick.C:
		}
		p.mu.Lock()
		p.asked++
		p.mu.Unlock()
		wg.Add(1)
		cl.Produce(context.Background(), &kgo.Record{Topic: "events", Key: []byte{byte(i)}, Value: trackEvent(i, "Paid")},
			func(r *kgo.Record, err error) {
				defer wg.Done()
				p.mu.Lock()
				defer p.mu.Unlock()
				if err != nil {
					p.errs = append(p.errs, err)
					return
				}
				p.at[i] = kgo.Record{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset}
				p.acked++
				p.lastOK = max(p.lastOK, i)
			})
	}
}

// commitSample is the group's committed offsets as seen at one moment: the
// commits existed before seen.
type commitSample struct {
	seen    time.Time
	offsets map[int32]int64
}

// sampleCommits reads the group's committed offsets on events every
// interval until ctx ends; reads that fail (the broker is down) are skipped.
func sampleCommits(ctx context.Context, adm *kadm.Client, group string, interval time.Duration) []commitSample {
	var out []commitSample
	for ctx.Err() == nil {
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		resp, err := adm.FetchOffsets(rctx, group)
		cancel()
		if err == nil {
			s := commitSample{seen: time.Now(), offsets: map[int32]int64{}}
			for p, o := range resp["events"] {
				if o.Err == nil {
					s.offsets[p] = o.At
				}
			}
			out = append(out, s)
		}
		select {
		case <-ctx.Done():
		case <-time.After(interval):
		}
	}
	return out
}

// readyz returns the worker's /readyz status and body; 0 when it does not
// answer.
func readyz(w *worker) (int, string) {
	resp, err := http.Get("http://" + w.http + "/readyz")
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestBrokerOutage stops the embedded broker (with --data-dir) under a
// steady stream of events and starts it again on the same address. The
// worker must stay up and say on /readyz that it waits for Kafka, never
// commit past an event it has not delivered, deliver every event, and
// resume soon after the broker is back. The recovery time and the
// duplicates are reported, not asserted: they depend on the machine.
func TestBrokerOutage(t *testing.T) {
	const outage = 5 * time.Second
	const interval = 2 * time.Millisecond // 500 events/s
	addr, dir := kafkatest.FreeAddr(t), t.TempDir()
	b := startBroker(t, addr, dir)

	rv := startReceiver(t, nil)
	cl, err := kgo.NewClient(kafkatest.FastOpts(addr)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	c := &kafkatest.Cluster{Addr: addr, Client: cl, Admin: kadm.NewClient(cl)}
	w := startWorker(t, c, "g-broker-outage", rulesFor(`actions:
- id: paid
  trigger: event == "Paid"
  url: URL/paid
`, rv.URL), nil)
	kafkatest.Eventually(t, "the worker is ready", func() bool { code, _ := readyz(w); return code == http.StatusOK })

	p := &produced{at: map[int]kgo.Record{}}
	prodCtx, stopProducing := context.WithCancel(context.Background())
	prodDone := make(chan struct{})
	go func() { defer close(prodDone); produceSteadily(prodCtx, cl, interval, p) }()
	sampleCtx, stopSampling := context.WithCancel(context.Background())
	var samples []commitSample
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		samples = sampleCommits(sampleCtx, c.Admin, "g-broker-outage", 50*time.Millisecond)
	}()
	t.Cleanup(func() { stopProducing(); <-prodDone; stopSampling(); <-sampled })

	rv.waitFor(t, "deliveries before the outage", func(r []request) bool { return len(r) >= 500 })
	b.stop(t)
	stopped := time.Now()
	p.mu.Lock()
	lastBefore := p.lastOK
	p.mu.Unlock()

	why := kafkatest.Wait(t, "/readyz to say it waits for Kafka", func() string {
		_, body := readyz(w)
		return body
	}, func(body string) bool { return strings.Contains(body, "waiting for Kafka") })
	t.Logf("during the outage /readyz said %q (%s after the stop)", strings.TrimSpace(why), time.Since(stopped).Round(time.Millisecond))
	if code, _ := readyz(w); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz answered %d while the broker was down, want 503", code)
	}
	time.Sleep(time.Until(stopped.Add(outage))) // the outage itself, not a synchronization

	startBroker(t, addr, dir) // the same address and data: stopped when the test ends
	back := time.Now()
	// Resumed: the first delivery of an event the producer wrote after
	// the broker went down (so the worker had to fetch it from the
	// restarted broker).
	resumed := rv.waitFor(t, "deliveries after the broker is back", func(r []request) bool {
		return slices.ContainsFunc(r, func(q request) bool { return q.At.After(back) && eventIndex(q.Body) > lastBefore })
	})
	// Deliveries resume with the events the group had not committed (the
	// duplicates, in order), then the ones written since the stop.
	var firstAt, newAt time.Time
	for _, q := range resumed {
		if q.At.After(back) && firstAt.IsZero() {
			firstAt = q.At
		}
		if q.At.After(back) && eventIndex(q.Body) > lastBefore {
			newAt = q.At
			break
		}
	}
	kafkatest.Eventually(t, "the worker is ready again", func() bool { code, _ := readyz(w); return code == http.StatusOK })
	readyAgain := time.Since(back)

	time.Sleep(2 * time.Second) // a steady stream after the outage too
	stopProducing()
	<-prodDone
	p.mu.Lock()
	acked, asked, errs := p.acked, p.asked, slices.Clone(p.errs)
	at := maps.Clone(p.at)
	p.mu.Unlock()
	if len(errs) > 0 {
		t.Fatalf("%d of %d events not produced: %v", len(errs), asked, errs[0])
	}

	// Nothing lost.
	reqs := rv.waitFor(t, "every event delivered", func(r []request) bool { return len(distinct(r)) >= acked })
	firstDelivered := map[int]time.Time{}
	deliveries := 0
	for _, q := range reqs {
		i := eventIndex(q.Body)
		if _, ok := at[i]; !ok {
			t.Fatalf("delivered an event never produced: %s", q.Body)
		}
		deliveries++
		if _, ok := firstDelivered[i]; !ok {
			firstDelivered[i] = q.At
		}
	}

	// Never committed ahead of an undelivered event: for every commit
	// seen, every record before it was delivered before it was seen.
	stopSampling()
	<-sampled
	byPartition := map[int32]map[int64]int{} // offset → index
	for i, r := range at {
		if byPartition[r.Partition] == nil {
			byPartition[r.Partition] = map[int64]int{}
		}
		byPartition[r.Partition][r.Offset] = i
	}
	checked := 0
	for _, s := range samples {
		for part, committed := range s.offsets {
			for off := int64(0); off < committed; off++ {
				i, ok := byPartition[part][off]
				if !ok {
					continue // written before the test's producer: none here
				}
				if d, ok := firstDelivered[i]; !ok || d.After(s.seen) {
					t.Fatalf("events/%d committed at %d (seen %s) before offset %d (event %d) was delivered",
						part, committed, s.seen.Format(time.StampMilli), off, i)
				}
				checked++
			}
		}
	}
	if len(samples) == 0 || checked == 0 {
		t.Fatalf("no commit seen to check (%d samples)", len(samples))
	}

	t.Logf("broker down %s under %d events/s; %d events produced, all delivered; "+
		"first delivery %s after the broker was back (of an event written since the stop: %s), /readyz 200 again after %s; "+
		"%d deliveries, %d duplicates; %d commit samples checked",
		back.Sub(stopped).Round(time.Millisecond), int(time.Second/interval), acked,
		firstAt.Sub(back).Round(time.Millisecond), newAt.Sub(back).Round(time.Millisecond), readyAgain.Round(time.Millisecond),
		deliveries, deliveries-len(firstDelivered), len(samples))
}

// eventIndex returns the n of an event's "m-n" messageId, or -1.
func eventIndex(body []byte) int {
	var ev struct {
		MessageID  string `json:"messageId"`
		Properties struct {
			N int `json:"n"`
		} `json:"properties"`
	}
	if json.Unmarshal(body, &ev) != nil || !strings.HasPrefix(ev.MessageID, "m-") {
		return -1
	}
	return ev.Properties.N
}

// distinct returns the distinct events the requests carried.
func distinct(reqs []request) map[int]bool {
	out := map[int]bool{}
	for _, q := range reqs {
		out[eventIndex(q.Body)] = true
	}
	return out
}
