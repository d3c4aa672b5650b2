package main

import (
	"context"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/hookstream/hookstream/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

var listeningLine = regexp.MustCompile(`^hookstream broker listening on (\S+)$`)

// startBroker runs `hookstream broker` on a free port and returns it with
// its address.
func startBroker(t *testing.T, args ...string) (*process, string) {
	t.Helper()
	p := start(t, nil, append([]string{"broker", "--listen", "127.0.0.1:0"}, args...)...)
	return p, p.waitLine(t, listeningLine)[1]
}

// testClient is a franz-go client for a broker, tuned to recover quickly.
func testClient(t *testing.T, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append(kafkatest.FastOpts(addr), opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func TestBrokerCommand(t *testing.T) {
	p, addr := startBroker(t, "--topic", "orders:3")

	t.Run("topics", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		topics, err := kadm.NewClient(testClient(t, addr)).ListTopics(ctx)
		if err != nil {
			t.Fatalf("list topics: %v", err)
		}
		want := map[string]int{"orders": 3, "hookstream.dlq": 3, "hookstream.retry": 3, "hookstream.rules": 1}
		for topic, parts := range want {
			if got := len(topics[topic].Partitions); got != parts {
				t.Errorf("topic %s: %d partitions, want %d (have %v)", topic, got, parts, topics.Names())
			}
		}
	})

	t.Run("kcat lists the topic", func(t *testing.T) {
		if _, err := exec.LookPath("kcat"); err != nil {
			t.Skip("kcat not installed (apt-get install kcat)")
		}
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		out, err := exec.CommandContext(ctx, "kcat", "-b", addr, "-L").CombinedOutput()
		if err != nil {
			t.Fatalf("kcat -L: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), `topic "orders" with 3 partitions`) {
			t.Errorf("kcat -L does not list orders with 3 partitions:\n%s", out)
		}
	})

	if code := p.stop(t, syscall.SIGTERM); code != 0 {
		t.Errorf("broker exit code after SIGTERM = %d, want 0", code)
	}
}

func TestBrokerDataDir(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()

	p, addr := startBroker(t, "--topic", "events:1", "--data-dir", dir)
	cl := testClient(t, addr)
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "events", Value: []byte(`{"type":"track"}`)}).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	cl.Close()
	if code := p.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("broker exit code = %d, want 0", code)
	}

	_, addr = startBroker(t, "--topic", "events:1", "--data-dir", dir)
	consumer := testClient(t, addr, kgo.ConsumeTopics("events"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	for {
		fs := consumer.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatal("the record produced before the restart was not read back")
		}
		if fs.NumRecords() > 0 {
			if v := string(fs.Records()[0].Value); v != `{"type":"track"}` {
				t.Errorf("record after restart = %q", v)
			}
			return
		}
	}
}
