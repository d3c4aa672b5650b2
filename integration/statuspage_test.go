package integration

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/hookstream/hookstream/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kgo"
)

// startBrowser starts a headless Chromium for the test and returns its
// context. Without Chromium the test is skipped, unless CI is set: CI
// installs it, so there its absence is a failure.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	var path string
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is not installed (apt-get install chromium)")
		}
		t.Skip("chromium is not installed (apt-get install chromium)")
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc() // waits for the browser to exit, before its user data dir goes
	})
	// The first Run starts the browser; it lives as long as that call's
	// context, so that context has no timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	return ctx
}

// pageState is what the status page shows, read from its DOM.
type pageState struct {
	Marker     bool // set by the test after loading: still there means no reload
	Samples    int  // snapshots the page has rendered
	Ready      string
	Lag        string // the total tile
	Partitions []struct {
		Name  string // topic/partition
		Lag   string // the number, "" when unknown
		Shown string // the cell's text
	}
	Actions []struct {
		ID        string
		Breaker   string
		Delivered float64
	}
	Foreign []string // resources loaded from another origin
}

const readPage = `(() => ({
  marker: window.hookstreamTestMarker === 1,
  samples: Number(document.body.dataset.samples || 0),
  ready: document.getElementById('ready').textContent,
  lag: document.getElementById('t-lag').textContent,
  partitions: [...document.querySelectorAll('#partitions tbody tr[data-partition]')].map((r) => ({
    name: r.dataset.partition, lag: r.dataset.lag, shown: r.querySelector('td.lag').textContent })),
  actions: [...document.querySelectorAll('#actions tbody tr[data-action]')].map((r) => ({
    id: r.dataset.action, breaker: r.dataset.breaker, delivered: Number(r.dataset.delivered) })),
  foreign: performance.getEntriesByType('resource').map((e) => e.name).filter((n) => !n.startsWith(location.origin)),
}))()`

// openPage loads url in the browser and marks the page, so a reload would
// show.
func openPage(t *testing.T, browser context.Context, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(browser, kafkatest.WaitTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible("#partitions tbody tr")); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](`window.hookstreamTestMarker = 1`)); err != nil {
		t.Fatal(err)
	}
}

// waitPage reads the page until cond holds. The page refreshes itself every
// second; the browser offers no event for "the DOM now shows X", so this
// polls.
func waitPage(t *testing.T, browser context.Context, what string, cond func(pageState) bool) pageState {
	t.Helper()
	return kafkatest.Wait(t, "the page to show "+what, func() pageState {
		ctx, cancel := context.WithTimeout(browser, 10*time.Second)
		defer cancel()
		st, err := chromedp.Run(ctx, chromedp.Evaluate[pageState](readPage))
		if err != nil {
			t.Fatalf("read the page: %v", err)
		}
		return st
	}, cond)
}

func (s pageState) lag(partition string) int {
	for _, p := range s.Partitions {
		if p.Name == partition {
			if n, err := strconv.Atoi(p.Lag); err == nil {
				return n
			}
		}
	}
	return -1
}

func (s pageState) breaker(action string) string {
	for _, a := range s.Actions {
		if a.ID == action {
			return a.Breaker
		}
	}
	return ""
}

const pageRules = `actions:
- id: orders-to-erp
  trigger: event == "Order Completed"
  url: URL/erp
  batch: {size: 50, wait: 200ms}
- id: signups-to-crm
  trigger: event == "Signed Up"
  url: URL/crm
- id: pages-to-flaky
  trigger: event == "Viewed"
  url: URL/flaky
  retry: {initial_backoff: 20ms, max_backoff: 100ms}
  breaker: {failures: 3, open_for: 500ms}
`

func TestStatusPageInABrowser(t *testing.T) {
	browser := startBrowser(t)
	c := startCluster(t, 4, "events")
	var down atomic.Bool
	rv := startReceiver(t, func(_ int, r *http.Request, _ []byte) (int, http.Header) {
		if r.URL.Path == "/flaky" && down.Load() {
			return http.StatusServiceUnavailable, nil
		}
		return http.StatusOK, nil
	})
	w := startWorker(t, c, "g-page", rulesFor(pageRules, rv.URL), nil, "--config", writeConfig(t, "commit_interval: 100ms\n"))
	waitHTTPStatus(t, "http://"+w.http+"/readyz", http.StatusOK)

	openPage(t, browser, "http://"+w.http+"/")
	all := []string{"events/0", "events/1", "events/2", "events/3"}
	st := waitPage(t, browser, "every partition at lag 0 and every action", func(s pageState) bool {
		var names []string
		for _, p := range s.Partitions {
			if strings.HasPrefix(p.Name, "events/") { // the retry topic is consumed too
				names = append(names, p.Name)
			}
		}
		zero := true
		for _, p := range all {
			zero = zero && s.lag(p) == 0
		}
		return slices.Equal(names, all) && zero && len(s.Actions) == 3 && s.Ready == "ready"
	})
	for _, id := range []string{"orders-to-erp", "pages-to-flaky", "signups-to-crm"} {
		if st.breaker(id) != "closed" {
			t.Errorf("action %s: breaker %q, want closed", id, st.breaker(id))
		}
	}

	// An outage on one endpoint: its events hold partitions 1 and 3 back.
	down.Store(true)
	var recs []*kgo.Record
	for i := range 40 {
		name := []string{"Order Completed", "Viewed", "Signed Up", "Viewed"}[i%4]
		recs = append(recs, &kgo.Record{Topic: "events", Partition: int32(i % 4), Value: trackEvent(i, name)})
	}
	c.Produce(t, recs...)
	st = waitPage(t, browser, "lag on partitions 1 and 3 and the breaker open", func(s pageState) bool {
		return s.lag("events/1") > 0 && s.lag("events/3") > 0 && s.breaker("pages-to-flaky") == "open"
	})
	if !st.Marker {
		t.Error("the page was reloaded; it should update in place")
	}
	for _, p := range st.Partitions {
		if p.Shown != p.Lag {
			t.Errorf("partition %s shows lag %q, its data says %q", p.Name, p.Shown, p.Lag)
		}
	}

	down.Store(false)
	rv.waitFor(t, "every event", allDelivered(t, len(recs)))
	st = waitPage(t, browser, "lag back to 0, the breaker closed and the deliveries counted", func(s pageState) bool {
		ok := s.breaker("pages-to-flaky") == "closed" && s.Lag == "0"
		for _, p := range all {
			ok = ok && s.lag(p) == 0
		}
		for _, a := range s.Actions {
			ok = ok && a.Delivered == 10*map[string]float64{"orders-to-erp": 1, "signups-to-crm": 1, "pages-to-flaky": 2}[a.ID]
		}
		return ok
	})
	if !st.Marker || st.Samples < 3 {
		t.Errorf("page reloaded (%v) or not refreshing (%d snapshots)", !st.Marker, st.Samples)
	}
	if len(st.Foreign) > 0 {
		t.Errorf("the page loaded resources from elsewhere: %v", st.Foreign)
	}
}

// waitHTTPStatus polls url until it answers status: another process.
func waitHTTPStatus(t *testing.T, url string, status int) {
	t.Helper()
	kafkatest.Eventually(t, fmt.Sprintf("GET %s to answer %d", url, status), func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == status
	})
}

// TestStatusPageScreenshots takes the screenshots in docs/: set
// HOOKSTREAM_SCREENSHOTS to the directory to write them to. It runs a
// small deployment with steady traffic for about a minute.
func TestStatusPageScreenshots(t *testing.T) {
	dir := os.Getenv("HOOKSTREAM_SCREENSHOTS")
	if dir == "" {
		t.Skip("set HOOKSTREAM_SCREENSHOTS=DIR to write the status page screenshots")
	}
	browser := startBrowser(t)
	c := startCluster(t, 6, "events")
	var down atomic.Bool
	rv := startReceiver(t, func(_ int, r *http.Request, _ []byte) (int, http.Header) {
		// A receiver with a believable spread of answer times.
		time.Sleep(time.Duration(1+rand.IntN(8)) * time.Millisecond)
		if r.URL.Path == "/flaky" && down.Load() {
			return http.StatusServiceUnavailable, nil
		}
		return http.StatusOK, nil
	})
	w := startWorker(t, c, "hookstream", rulesFor(pageRules, rv.URL), nil)
	waitHTTPStatus(t, "http://"+w.http+"/readyz", http.StatusOK)

	ctx, stop := context.WithCancel(context.Background())
	produced := make(chan error, 1)
	go func() { produced <- traffic(ctx, c.Client, 6, 120) }()
	t.Cleanup(func() {
		stop()
		if err := <-produced; err != nil && ctx.Err() == nil {
			t.Errorf("traffic: %v", err)
		}
	})

	openPage(t, browser, "http://"+w.http+"/")
	shoot := func(name string) {
		t.Helper()
		sctx, cancel := context.WithTimeout(browser, 30*time.Second)
		defer cancel()
		png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", filepath.Join(dir, name))
	}
	waitPage(t, browser, "a full window of rates", func(s pageState) bool { return s.Samples >= 31 })
	shoot("status-page.png")

	down.Store(true)
	var opened time.Time
	waitPage(t, browser, "an outage of 15 s", func(s pageState) bool {
		if opened.IsZero() && s.breaker("pages-to-flaky") == "open" {
			opened = time.Now()
		}
		return !opened.IsZero() && time.Since(opened) > 15*time.Second && s.breaker("pages-to-flaky") == "open"
	})
	shoot("status-page-outage.png")
	down.Store(false)
}

// traffic produces a mix of events at about rate per second over parts
// partitions until ctx ends.
func traffic(ctx context.Context, cl *kgo.Client, parts int, rate int) error {
	tick := time.NewTicker(time.Second / 10)
	defer tick.Stop()
	names := []string{"Order Completed", "Viewed", "Signed Up", "Viewed", "Order Completed", "Viewed"}
	for i := 0; ; {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		var recs []*kgo.Record
		for range rate / 10 {
			recs = append(recs, &kgo.Record{Topic: "events", Partition: int32(rand.IntN(parts)),
				Value: trackEvent(i, names[rand.IntN(len(names))])})
			i++
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			return fmt.Errorf("produce: %w", err)
		}
	}
}
