package worker

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func TestBackoffIsCapped(t *testing.T) {
	for fails := range 40 {
		if d := backoff(fails); d <= 0 || d > maxBackoff {
			t.Errorf("backoff(%d) = %s, want in (0, %s]", fails, d, maxBackoff)
		}
	}
	if d := backoff(1); d > minBackoff {
		t.Errorf("backoff(1) = %s, want at most %s", d, minBackoff)
	}
}

func TestKafkaHealth(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	h := newKafkaHealth()
	h.now = func() time.Time { return now }
	answer := func() { h.OnBrokerE2E(kgo.BrokerMetadata{}, 1, kgo.BrokerE2E{}) }
	refused := errors.New("dial tcp 127.0.0.1:9092: connect: connection refused")
	fail := func() { h.OnBrokerConnect(kgo.BrokerMetadata{}, 0, nil, refused) }
	steps := []struct {
		name    string
		do      func()
		after   time.Duration // before do
		waiting bool
	}{
		{"nothing yet", func() {}, 0, false},
		{"unreachable from the start", fail, 0, true},
		{"first answer", answer, 0, false},
		{"a failure right after an answer", fail, 100 * time.Millisecond, false},
		{"no answer since for the grace", func() {}, time.Second, true},
		{"our own cancellation is no failure", func() {
			answer()
			h.OnBrokerE2E(kgo.BrokerMetadata{}, 1, kgo.BrokerE2E{ReadErr: kgo.ErrClientClosed})
		}, 2 * time.Second, false},
		{"answering again", answer, 0, false},
	}
	for _, s := range steps {
		now = now.Add(s.after)
		s.do()
		err := h.waiting()
		if (err != nil) != s.waiting {
			t.Fatalf("%s: waiting() = %v, want waiting %v", s.name, err, s.waiting)
		}
		if err != nil && (!strings.Contains(err.Error(), "waiting for Kafka") || !strings.Contains(err.Error(), "connection refused")) {
			t.Errorf("%s: %q does not say it waits for Kafka and why", s.name, err)
		}
	}
}
