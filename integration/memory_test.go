package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hookstream/hookstream/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kgo"
)

// rssOverhead is what a `hookstream run` worker's resident memory takes
// beyond twice max_buffered_bytes: the runtime, the Kafka and HTTP clients,
// metrics, the ledgers' slots and the garbage collector's slack over all of
// it. Measured up to 30 MiB over twice the bound with this test (peak RSS
// 94 MiB against 32 MiB), and 65 MiB at the default bound of 256 MiB with
// 20 KB events and an endpoint answering 500 (577 MiB); README documents
// the same figure.
const rssOverhead = 96 << 20

const bytesRules = `actions:
- id: big
  trigger: event == "Big"
  url: URL/big
  batch: {size: 50, wait: 50ms}
  retry: {initial_backoff: 20ms, max_backoff: 200ms, park_after: 1h, max_duration: 1h}
  breaker: {failures: 5, open_for: 100ms}
`

// TestLargeEventsStayWithinTheByteBound is SPEC §4's memory bound with
// events of 120 KB and an endpoint that fails (500) without the action
// parking: the worker holds at most max_buffered_bytes of event values and
// its peak RSS stays within twice that plus rssOverhead; once the endpoint
// answers, every event arrives and the group commits to the end. The
// worker is a build without the race detector, whose shadow memory would
// say nothing about hookstream's.
func TestLargeEventsStayWithinTheByteBound(t *testing.T) {
	const (
		parts = 4
		n     = 800       // 96 MB of values: three times the bound
		size  = 120 << 10 // bytes per event, about
		bound = 32 << 20  // max_buffered_bytes
	)
	bin := plainBinary(t)
	c := startCluster(t, parts, "events")
	rv := startHole(t)
	produceLarge(t, c, n, parts, size)

	w := startWorkerOf(t, bin, c, "g-bytes", rulesFor(bytesRules, rv.URL), nil, "--config",
		writeConfig(t, fmt.Sprintf("commit_interval: 100ms\nmax_buffered_bytes: %d\n", bound)))

	// Failing: the worker fills its bound and stops there.
	waitWorker(t, w, "the bound to fill while the endpoint fails", func() bool {
		h, ok := inHand(w)
		return ok && h.Bytes >= bound/2 && rv.refused.Load() >= 20
	})
	failing, _ := inHand(w)
	failingRSS := peakRSS(t, w)

	rv.ok.Store(true)
	waitWorker(t, w, "every event delivered", func() bool { return rv.delivered() == n })
	waitWorker(t, w, "the group to commit to the end", func() bool {
		off := c.Committed(t, "g-bytes", "events")
		for p := range int32(parts) {
			if off[p] != n/parts {
				return false
			}
		}
		return true
	})
	end, _ := inHand(w)
	rss := peakRSS(t, w)
	t.Logf("failing: %d events, %.1f MiB in hand, peak RSS %.1f MiB; after: peak in hand %.1f MiB of %d MiB, peak RSS %.1f MiB (%d refused requests)",
		failing.Events, mib(failing.Bytes), mib(failingRSS), mib(end.PeakBytes), bound>>20, mib(rss), rv.refused.Load())

	if end.PeakBytes > bound || end.MaxBytes != bound {
		t.Errorf("bytes in hand peaked at %d against a bound of %d (status says %d)", end.PeakBytes, bound, end.MaxBytes)
	}
	if limit := int64(2*bound + rssOverhead); rss > limit {
		t.Errorf("peak RSS %.1f MiB, want at most %.1f MiB (2 × max_buffered_bytes + %d MiB)", mib(rss), mib(limit), rssOverhead>>20)
	}
	if end.Events != 0 || end.Bytes != 0 {
		t.Errorf("still in hand after everything was delivered: %d events, %d bytes", end.Events, end.Bytes)
	}
}

var plain struct {
	once sync.Once
	path string
	err  error
}

// plainBinary builds hookstream without the race detector, once.
func plainBinary(t *testing.T) string {
	t.Helper()
	plain.once.Do(func() {
		plain.path = filepath.Join(filepath.Dir(binary), "hookstream-plain")
		out, err := exec.Command("go", "build", "-o", plain.path, "../cmd/hookstream").CombinedOutput()
		if err != nil {
			plain.err = fmt.Errorf("build hookstream: %v\n%s", err, out)
		}
	})
	if plain.err != nil {
		t.Fatal(plain.err)
	}
	return plain.path
}

// produceLarge writes n track events "Big" of about size bytes over parts
// partitions, round robin. Their padding is random base64, which no
// compression shrinks, so what the broker holds is what the worker reads.
func produceLarge(t *testing.T, c *kafkatest.Cluster, n, parts, size int) {
	t.Helper()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	rng := rand.New(rand.NewPCG(1, 2))
	pool := make([]byte, 4*size)
	for i := range pool {
		pool[i] = alphabet[rng.IntN(len(alphabet))]
	}
	for first := 0; first < n; first += 40 {
		var recs []*kgo.Record
		for i := first; i < min(n, first+40); i++ {
			at := rng.IntN(len(pool) - size)
			v := fmt.Appendf(nil, `{"type":"track","event":"Big","userId":"u%d","messageId":"m-%d","properties":{"pad":%q}}`, i, i, pool[at:at+size])
			recs = append(recs, &kgo.Record{Topic: "events", Partition: int32(i % parts), Value: v})
		}
		c.Produce(t, recs...)
	}
}

// hole is an endpoint that answers 500 until ok is set, then 200, and
// remembers only the messageIds it accepted, never the bodies.
type hole struct {
	*httptest.Server
	ok      atomic.Bool
	refused atomic.Int64
	mu      sync.Mutex
	seen    map[string]bool
}

func startHole(t *testing.T) *hole {
	t.Helper()
	h := &hole{seen: map[string]bool{}}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !h.ok.Load() {
			h.refused.Add(1)
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		var evs []struct {
			MessageID string `json:"messageId"`
		}
		if err := json.NewDecoder(r.Body).Decode(&evs); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		for _, e := range evs {
			h.seen[e.MessageID] = true
		}
		h.mu.Unlock()
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hole) delivered() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.seen)
}

// held is the in_hand part of /status.json.
type held struct {
	Events    int   `json:"events"`
	Bytes     int64 `json:"bytes"`
	MaxBytes  int64 `json:"max_bytes"`
	PeakBytes int64 `json:"peak_bytes"`
}

func inHand(w *worker) (held, bool) {
	resp, err := http.Get("http://" + w.http + "/status.json")
	if err != nil {
		return held{}, false
	}
	defer resp.Body.Close()
	var st struct {
		InHand held `json:"in_hand"`
	}
	if json.NewDecoder(resp.Body).Decode(&st) != nil {
		return held{}, false
	}
	return st.InHand, true
}

// peakRSS returns the worker process's peak resident memory so far (VmHWM).
func peakRSS(t *testing.T, w *worker) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", w.cmd.Process.Pid))
	if err != nil {
		t.Skipf("no /proc to read the peak RSS from: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM %q: %v", v, err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/PID/status")
	return 0
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
