package integration

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hookstream/hookstream/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// binary is the hookstream binary built once for all tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hookstream-it")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "hookstream")
	build := exec.Command("go", "build", "-race", "-o", binary, "../cmd/hookstream")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build hookstream:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// startCluster starts an in-process cluster with partitions of each of
// topics ("events" when none are named), the dead-letter and retry topics,
// topic auto-creation, and sessions allowed as short as fastGroup's.
func startCluster(t *testing.T, partitions int32, topics ...string) *kafkatest.Cluster {
	t.Helper()
	if len(topics) == 0 {
		topics = []string{"events"}
	}
	return kafkatest.NewCluster(t, kfake.SeedTopics(partitions, topics...),
		kfake.SeedTopics(1, "hookstream.dlq", "hookstream.retry"), kfake.AllowAutoTopicCreation(),
		kfake.GroupMinSessionTimeout(500*time.Millisecond))
}

// request is one HTTP request a receiver saw, with the status it answered.
type request struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
	Status int
	At     time.Time
}

// receiver is a real HTTP endpoint that records every request. answer decides
// the status of the n-th request (0-based); nil answers 200.
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	reqs    []request
	changed chan struct{}
	answer  func(n int, r *http.Request, body []byte) (int, http.Header)
}

func startReceiver(t *testing.T, answer func(n int, r *http.Request, body []byte) (int, http.Header)) *receiver {
	t.Helper()
	rv := &receiver{changed: make(chan struct{}), answer: answer}
	rv.Server = httptest.NewServer(http.HandlerFunc(rv.serve))
	t.Cleanup(rv.Close)
	return rv
}

func (rv *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		// The sender died mid-request (a worker killed with SIGKILL): it
		// never sees an answer, so this is not a delivery.
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	rv.mu.Lock()
	n := len(rv.reqs)
	rv.mu.Unlock()
	status, hdr := http.StatusOK, http.Header(nil)
	if rv.answer != nil {
		status, hdr = rv.answer(n, r, body)
	}
	for k, vs := range hdr {
		w.Header()[k] = vs
	}
	rv.mu.Lock()
	rv.reqs = append(rv.reqs, request{r.Method, r.URL.EscapedPath(), r.Header.Clone(), body, status, time.Now()})
	close(rv.changed)
	rv.changed = make(chan struct{})
	rv.mu.Unlock()
	w.WriteHeader(status)
}

// requests returns a copy of what was seen so far.
func (rv *receiver) requests() []request {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	return append([]request(nil), rv.reqs...)
}

// waitFor blocks until cond holds for the requests seen, or fails the test.
func (rv *receiver) waitFor(t *testing.T, what string, cond func([]request) bool) []request {
	t.Helper()
	var reqs []request
	rv.await(t, what, func() bool {
		reqs = rv.requests()
		return cond(reqs)
	})
	return reqs
}

// await blocks until cond holds, looking again after every request the
// receiver answers, or fails the test.
func (rv *receiver) await(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(kafkatest.WaitTimeout)
	for {
		rv.mu.Lock()
		changed, n := rv.changed, len(rv.reqs)
		rv.mu.Unlock()
		if cond() {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("waiting for %s: gave up after %s with %d requests", what, kafkatest.WaitTimeout, n)
		}
	}
}

// worker is one `hookstream run` process.
type worker struct {
	cmd  *exec.Cmd
	out  *kafkatest.SyncBuffer // safe to read while the process runs
	done chan error
	http string
}

// startWorker runs `hookstream run` with the rules file and extra arguments.
func startWorker(t *testing.T, c *kafkatest.Cluster, group, rulesYAML string, env []string, args ...string) *worker {
	t.Helper()
	return startWorkerOf(t, binary, c, group, rulesYAML, env, args...)
}

// startWorkerOf is startWorker with another build of hookstream.
func startWorkerOf(t *testing.T, bin string, c *kafkatest.Cluster, group, rulesYAML string, env []string, args ...string) *worker {
	t.Helper()
	rules := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(rules, []byte(rulesYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	return launch(t, bin, c, group, env, append([]string{"--rules", rules}, args...)...)
}

// launch runs `bin run` on c's events topic in group, serving HTTP on a free
// address, with extra arguments. The process is killed when the test ends,
// and its output shown if the test failed.
func launch(t *testing.T, bin string, c *kafkatest.Cluster, group string, env []string, args ...string) *worker {
	t.Helper()
	addr := kafkatest.FreeAddr(t)
	cmd := exec.Command(bin, append([]string{"run", "--brokers", c.Addr, "--topic", "events", "--group", group,
		"--http", addr}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	out := &kafkatest.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w := &worker{cmd: cmd, out: out, done: make(chan error, 1), http: addr}
	go func() { w.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-w.done
		}
		if t.Failed() {
			t.Logf("worker %s output:\n%s", addr, out.String())
		}
	})
	return w
}

// stop sends sig and waits for the process to exit, returning its exit code.
func (w *worker) stop(t *testing.T, sig syscall.Signal) int {
	t.Helper()
	if err := w.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal worker: %v", err)
	}
	select {
	case <-w.done:
	case <-time.After(kafkatest.WaitTimeout):
		t.Fatalf("worker did not exit after %v", sig)
	}
	return w.cmd.ProcessState.ExitCode()
}

// metric returns the value of one exact series on the worker's /metrics, or -1.
func (w *worker) metric(series string) float64 {
	resp, err := http.Get("http://" + w.http + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			var f float64
			if _, err := fmt.Sscan(v, &f); err == nil {
				return f
			}
		}
	}
	return -1
}

// waitMetric polls the worker's /metrics until series reaches at least want.
// A separate process offers no event to await, so this polls.
func waitMetric(t *testing.T, w *worker, series string, want float64) {
	t.Helper()
	what := fmt.Sprintf("metric %s to reach %v", series, want)
	kafkatest.Wait(t, what, func() float64 { w.alive(t, what); return w.metric(series) },
		func(v float64) bool { return v >= want })
}

// alive fails the test if the worker has exited while the test waits for
// what.
func (w *worker) alive(t *testing.T, what string) {
	t.Helper()
	select {
	case err := <-w.done:
		w.done <- err
		t.Fatalf("worker %s exited (%v) while waiting for %s", w.http, err, what)
	default:
	}
}

// header returns the value of a record header.
func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// event returns a CDP track event as JSON.
func trackEvent(i int, name string) []byte {
	return fmt.Appendf(nil, `{"type":"track","event":%q,"userId":"u%d","messageId":"m-%d","properties":{"plan":"pro","n":%d},"timestamp":"2026-11-28T06:00:00Z"}`, name, i, i, i)
}

// rulesFor renders a rules file from a template with {{URL}} replaced.
func rulesFor(tmpl, url string) string { return strings.ReplaceAll(tmpl, "URL", url) }

func contextWith(k, v any) context.Context { return context.WithValue(context.Background(), k, v) }
