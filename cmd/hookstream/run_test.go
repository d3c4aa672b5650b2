package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hookstream/hookstream/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// received is one request a test receiver saw.
type received struct {
	method, path string
	header       http.Header
	body         []byte
}

// startReceiver is an HTTP endpoint that answers 200 and hands every
// request to the test goroutine.
func startReceiver(t *testing.T) (*httptest.Server, <-chan received) {
	t.Helper()
	ch := make(chan received, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ch <- received{r.Method, r.URL.Path, r.Header.Clone(), body}
	}))
	t.Cleanup(srv.Close)
	return srv, ch
}

// waitHTTP polls url until it answers want, and returns the body. The worker
// is another process: there is no event to await but its answer.
func waitHTTP(t *testing.T, url string, want int) string {
	t.Helper()
	var body []byte
	kafkatest.Eventually(t, fmt.Sprintf("GET %s to answer %d", url, want), func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		body, _ = io.ReadAll(resp.Body)
		return resp.StatusCode == want
	})
	return string(body)
}

func TestRunDeliversAndCommits(t *testing.T) {
	_, brokerAddr := startBroker(t, "--topic", "events:2")
	rv, requests := startReceiver(t)
	rules := writeFile(t, "rules.yaml", `actions:
- id: signups
  trigger: type == "track" && event == "Signed Up"
  url: `+rv.URL+`/signups/{{ userId }}
  secret_env: TEST_SECRET
`)
	httpAddr := kafkatest.FreeAddr(t)
	w := start(t, []string{"TEST_SECRET=shh"}, "run", "--brokers", brokerAddr, "--topic", "events",
		"--group", "g-run", "--rules", rules, "--http", httpAddr, "--commit-interval", "100ms")

	waitHTTP(t, "http://"+httpAddr+"/readyz", http.StatusOK)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	event := `{"type":"track","event":"Signed Up","userId":"u-1","messageId":"m-1"}`
	cl := testClient(t, brokerAddr, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	recs := []*kgo.Record{
		{Topic: "events", Partition: 1, Key: []byte("u-0"), Value: []byte(`{"type":"page","userId":"u-0"}`)},
		{Topic: "events", Partition: 1, Key: []byte("u-1"), Value: []byte(event)},
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}

	var got received
	select {
	case got = <-requests:
	case <-time.After(waitTimeout):
		t.Fatal("no delivery within the deadline")
	}
	if got.method != http.MethodPost || got.path != "/signups/u-1" {
		t.Errorf("request %s %s, want POST /signups/u-1", got.method, got.path)
	}
	if string(got.body) != event {
		t.Errorf("body %s, want the event as produced: %s", got.body, event)
	}
	m := hmac.New(sha1.New, []byte("shh"))
	m.Write(got.body)
	if sig := got.header.Get("X-Signature"); sig != hex.EncodeToString(m.Sum(nil)) {
		t.Errorf("X-Signature %q does not sign the body", sig)
	}
	if ua := got.header.Get("User-Agent"); ua != "hookstream/dev" {
		t.Errorf("User-Agent %q, want hookstream/dev", ua)
	}

	metrics := waitHTTP(t, "http://"+httpAddr+"/metrics", http.StatusOK)
	for _, series := range []string{
		`hookstream_events_consumed_total{topic="events"} 2`,
		`hookstream_rules_active 1`,
		`hookstream_circuit_state{action="signups"} 0`,
		`hookstream_consumer_lag{partition="1",topic="events"}`,
	} {
		if !strings.Contains(metrics, series) {
			t.Errorf("/metrics lacks %s:\n%s", series, metrics)
		}
	}
	page := waitHTTP(t, "http://"+httpAddr+"/", http.StatusOK)
	if !strings.Contains(page, "signups") || strings.Contains(page, "shh") {
		t.Errorf("status page should list the action and no secret:\n%s", page)
	}

	if code := w.stop(t, syscall.SIGTERM); code != 0 {
		t.Errorf("exit code after SIGTERM = %d, want 0", code)
	}
	offsets, err := kadm.NewClient(cl).FetchOffsets(ctx, "g-run")
	if err != nil {
		t.Fatalf("fetch offsets: %v", err)
	}
	if o, ok := offsets.Lookup("events", 1); !ok || o.At != 2 {
		t.Errorf("committed offset of events/1 = %+v, want 2 (both records done)", o)
	}
	select {
	case extra := <-requests:
		t.Errorf("unexpected second request %s %s: %s", extra.method, extra.path, extra.body)
	default:
	}
}
