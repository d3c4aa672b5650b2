package sink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
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

func TestDeadLetters(t *testing.T) {
	down := newReceiver(t, nil)
	down.Close() // a port nothing listens on any more
	cases := []struct {
		name       string
		status     int // receiver's answer; 0 = connection refused
		retryFor   time.Duration
		wantReason deadletter.Reason
		wantStatus string // "" = no hookstream-status header
		wantError  string
	}{
		{"400 is rejected at once", http.StatusBadRequest, time.Minute, deadletter.ReasonRejected, "400", "status 400"},
		{"404 is rejected at once", http.StatusNotFound, time.Minute, deadletter.ReasonRejected, "404", "status 404"},
		{"503 until max_duration", http.StatusServiceUnavailable, 60 * time.Millisecond, deadletter.ReasonRetriesExhausted, "503", "status 503"},
		{"connection refused until max_duration", 0, 60 * time.Millisecond, deadletter.ReasonRetriesExhausted, "", "connect"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cl := newCluster(t)
			url := down.URL
			if c.status != 0 {
				url = newReceiver(t, func(seen) answer { return answer{status: c.status} }).URL
			}
			s := newSink(t, Config{Producer: cl.producer})
			d := newDones()
			a := testAction("crm", func(a *rules.Compiled) {
				a.Retry.MaxDuration = rules.Duration(c.retryFor)
				a.Secrets = [][]byte{[]byte("shared-secret")}
				a.Breaker.Failures = 1000
			})
			send(t, s, a, url+"/hook?token=query-secret", 3, d)
			if got := d.wait(t, 1); got[0] != "e3" {
				t.Fatalf("done for %v", got)
			}
			r := cl.read(t, "hookstream.dlq", 1)[0]
			body, src := event(3)
			if string(r.Key) != string(src.Key) || string(r.Value) != string(body) {
				t.Errorf("dead letter key %q value %s, want the source record's", r.Key, r.Value)
			}
			if tp, _ := header(r, "traceparent"); tp != "00-abc-def-01" {
				t.Errorf("source header traceparent = %q, want it kept", tp)
			}
			want := map[string]string{
				deadletter.HeaderReason:          string(c.wantReason),
				deadletter.HeaderAction:          "crm",
				deadletter.HeaderSourceTopic:     "events",
				deadletter.HeaderSourcePartition: "0",
				deadletter.HeaderSourceOffset:    "3",
			}
			for k, v := range want {
				if got, ok := header(r, k); !ok || got != v {
					t.Errorf("header %s = %q (present %v), want %q", k, got, ok, v)
				}
			}
			st, ok := header(r, deadletter.HeaderStatus)
			if (c.wantStatus == "") == ok || st != c.wantStatus {
				t.Errorf("hookstream-status = %q (present %v), want %q", st, ok, c.wantStatus)
			}
			errText, _ := header(r, deadletter.HeaderError)
			if !strings.Contains(errText, c.wantError) {
				t.Errorf("hookstream-error %q does not say %q", errText, c.wantError)
			}
			for _, secret := range []string{"s3cr3t-token", "query-secret", "shared-secret"} {
				if strings.Contains(errText, secret) {
					t.Errorf("hookstream-error %q leaks %q", errText, secret)
				}
			}
			attempts, _ := header(r, deadletter.HeaderAttempts)
			if n, err := strconv.Atoi(attempts); err != nil || n < 1 || (c.wantReason == deadletter.ReasonRejected && n != 1) {
				t.Errorf("hookstream-attempts = %q", attempts)
			}
		})
	}
}

func TestDeadLetterPoisonRecord(t *testing.T) {
	cl := newCluster(t)
	s := newSink(t, Config{Producer: cl.producer})
	d := newDones()
	rec := &kgo.Record{Topic: "events", Partition: 2, Offset: 41, Key: []byte("k"), Value: []byte("{not json"),
		Headers: []kgo.RecordHeader{{Key: deadletter.HeaderReason, Value: []byte("stale")}}}
	s.DeadLetter(context.Background(), rec, deadletter.ReasonDecode, "", errors.New("invalid character 'n'"), d.fn("poison"))
	d.wait(t, 1)
	r := cl.read(t, "hookstream.dlq", 1)[0]
	want := map[string]string{
		deadletter.HeaderReason: string(deadletter.ReasonDecode), deadletter.HeaderAction: "", deadletter.HeaderError: "invalid character 'n'",
		deadletter.HeaderSourceTopic: "events", deadletter.HeaderSourcePartition: "2", deadletter.HeaderSourceOffset: "41", deadletter.HeaderAttempts: "0",
	}
	for k, v := range want {
		if got, ok := header(r, k); !ok || got != v {
			t.Errorf("header %s = %q (present %v), want %q", k, got, ok, v)
		}
	}
	if _, ok := header(r, deadletter.HeaderStatus); ok {
		t.Error("hookstream-status on a record that never reached an endpoint")
	}
	reasons := 0
	for _, h := range r.Headers {
		if h.Key == deadletter.HeaderReason {
			reasons++
		}
	}
	if reasons != 1 {
		t.Errorf("%d hookstream-reason headers, want the source's replaced", reasons)
	}
	if string(r.Value) != "{not json" {
		t.Errorf("value %q, want the source's", r.Value)
	}
}

// DeadLettered hears of each dead letter once the topic acknowledged it,
// before the event is done.
func TestDeadLetteredIsTold(t *testing.T) {
	cl := newCluster(t)
	told := make(chan deadletter.Letter, 2)
	s := newSink(t, Config{Producer: cl.producer, DeadLettered: func(l deadletter.Letter) { told <- l }})
	d := newDones()
	rec := &kgo.Record{Topic: "events", Partition: 1, Offset: 7, Value: []byte("{not json")}
	s.DeadLetter(context.Background(), rec, deadletter.ReasonDecode, "", errors.New("invalid character 'n'"), d.fn("poison"))
	d.wait(t, 1)
	select {
	case l := <-told:
		want := deadletter.Letter{Reason: deadletter.ReasonDecode, Error: "invalid character 'n'"}
		if l != want {
			t.Errorf("told %+v, want %+v", l, want)
		}
	default:
		t.Fatal("the event is done, but DeadLettered was not told")
	}
	if len(told) != 0 {
		t.Errorf("told %d more times, want once", len(told))
	}
}

func TestDeadLetterTooLargeForTopic(t *testing.T) {
	cl := newCluster(t, kfake.BrokerConfigs(map[string]string{"message.max.bytes": "4096"}))
	s := newSink(t, Config{Producer: cl.producer})
	d := newDones()
	value := make([]byte, 10000) // incompressible, so the broker sees all of it
	rand.NewChaCha8([32]byte{}).Read(value)
	rec := &kgo.Record{Topic: "events", Partition: 0, Offset: 9, Key: []byte("big"), Value: value}
	s.DeadLetter(context.Background(), rec, deadletter.ReasonTooLarge, "", fmt.Errorf("value of 10000 bytes over max_event_bytes"), d.fn("big"))
	d.wait(t, 1)
	r := cl.read(t, "hookstream.dlq", 1)[0]
	dropped, _ := header(r, deadletter.HeaderValueDropped)
	if size, _ := header(r, deadletter.HeaderValueSize); dropped != "true" || size != "10000" || len(r.Value) != 0 || string(r.Key) != "big" {
		t.Fatalf("dead letter key %q, value of %d bytes, %s=%q; want the key kept and the value dropped",
			r.Key, len(r.Value), deadletter.HeaderValueDropped, dropped)
	}
	if off, _ := header(r, deadletter.HeaderSourceOffset); off != "9" {
		t.Fatalf("source offset %q, want 9", off)
	}
}

// TestDeadLetterWriteIsRetried runs on synctest's clock: the window in which
// nothing may be done costs no real time.
func TestDeadLetterWriteIsRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// No DLQ topic at first: writes fail until it exists.
		k := kafkatest.Start(t, kafkatest.Config{Network: kafkatest.NewNetwork(), Broker: []kfake.Opt{kfake.SeedTopics(1, "events")}})
		p := k.NewClient(t, kgo.UnknownTopicRetries(1))
		cl := &cluster{Cluster: k, c: k.Fake, producer: p}
		logs := &kafkatest.SyncBuffer{}
		s := newSink(t, Config{Producer: p, Logger: slog.New(slog.NewTextHandler(logs, nil))})
		d := newDones()
		_, rec := event(1)
		s.DeadLetter(context.Background(), rec, deadletter.ReasonMapping, "crm", errors.New("payload: plan"), d.fn("e1"))
		select {
		case <-d.ch:
			t.Fatal("done called before the dead letter was written")
		case <-time.After(300 * time.Millisecond):
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := kadm.NewClient(p).CreateTopic(ctx, 1, 1, nil, "hookstream.dlq"); err != nil {
			t.Fatal(err)
		}
		d.wait(t, 1)
		if r, _ := header(cl.read(t, "hookstream.dlq", 1)[0], deadletter.HeaderReason); r != string(deadletter.ReasonMapping) {
			t.Fatalf("reason %q", r)
		}
		if !strings.Contains(logs.String(), "topic write failed, will retry") {
			t.Fatalf("the write never failed, so its retry was not tested; logs:\n%s", logs)
		}
	})
}

func TestRefusedEndpointIsRejectedWithoutRequest(t *testing.T) {
	cl := newCluster(t)
	rc := newReceiver(t, nil)
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return nil, fmt.Errorf("dial %s: address is private: %w", addr, ErrEndpointRefused)
		},
	}}
	s := newSink(t, Config{Producer: cl.producer, HTTP: client})
	d := newDones()
	send(t, s, testAction("private", nil), rc.URL, 1, d)
	d.wait(t, 1)
	r := cl.read(t, "hookstream.dlq", 1)[0]
	reason, _ := header(r, deadletter.HeaderReason)
	attempts, _ := header(r, deadletter.HeaderAttempts)
	if reason != string(deadletter.ReasonRejected) || attempts != "1" {
		t.Fatalf("reason %q after %s attempts, want rejected at once", reason, attempts)
	}
	if n := rc.count.Load(); n != 0 {
		t.Fatalf("the refused endpoint got %d requests", n)
	}
}
