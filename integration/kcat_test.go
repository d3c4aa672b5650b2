package integration

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// kcatPath finds kcat; CI installs it, so only a developer machine may skip.
func kcatPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("kcat")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("kcat is not installed; .ci/run must install it")
		}
		t.Skip("kcat not installed (apt-get install -y kcat)")
	}
	return p
}

// TestKcatProducedEventsAreDelivered proves protocol compatibility with a
// client we did not write: librdkafka's kcat produces compressed batches.
func TestKcatProducedEventsAreDelivered(t *testing.T) {
	kcat := kcatPath(t)
	const n = 500
	c := startCluster(t, 3, "events")
	rv := startReceiver(t, nil)
	startWorker(t, c, "g-kcat", rulesFor(`actions:
- id: from-kcat
  trigger: type == "track"
  url: URL/kcat
  batch: {size: 100, wait: 50ms}
`, rv.URL), nil)

	for _, codec := range []string{"snappy", "gzip", "lz4", "zstd"} {
		var lines bytes.Buffer
		for i := range n {
			fmt.Fprintf(&lines, "u%d:%s\n", i, trackEvent(i, codec))
		}
		file := filepath.Join(t.TempDir(), "events.txt")
		if err := os.WriteFile(file, lines.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(kcat, "-b", c.Addr, "-t", "events", "-P", "-z", codec, "-K:", "-l", file).CombinedOutput()
		if err != nil {
			t.Fatalf("kcat -P -z %s: %v\n%s", codec, err, out)
		}
	}
	reqs := rv.waitFor(t, "every kcat event", func(r []request) bool {
		return countEvents(t, r) >= 4*n
	})
	if got := countEvents(t, reqs); got != 4*n {
		t.Errorf("delivered %d events, want %d", got, 4*n)
	}
}

// countEvents counts delivered events (messageIds repeat across codecs here).
func countEvents(t *testing.T, reqs []request) int {
	t.Helper()
	total := 0
	for _, r := range reqs {
		if r.Status/100 == 2 {
			total += len(ids(t, r.Body))
		}
	}
	return total
}
