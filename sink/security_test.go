package sink

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookstream/hookstream/internal/deadletter"
	"github.com/hookstream/hookstream/internal/kafkatest"
	"github.com/hookstream/hookstream/rules"
)

// TestRedirectsAreNeverFollowed answers every request with a redirect, to
// a receiver that counts what it gets and to the cloud metadata address: the
// sink must not follow any of them, whatever client it was given, and must
// dead-letter the event as rejected with the 3xx status.
func TestRedirectsAreNeverFollowed(t *testing.T) {
	target := newReceiver(t, nil)
	clients := map[string]*http.Client{
		"default client": nil,
		// A client that follows redirects on its own: the sink must
		// still not, since a refused address could hide behind one.
		"client that follows": {CheckRedirect: func(*http.Request, []*http.Request) error { return nil }},
	}
	tests := []struct {
		status   int
		location string
	}{
		{http.StatusMovedPermanently, target.URL + "/moved"},
		{http.StatusFound, target.URL + "/found"},
		{http.StatusTemporaryRedirect, target.URL + "/temporary"},
		{http.StatusPermanentRedirect, "http://169.254.169.254/latest/meta-data/"},
	}
	for name, client := range clients {
		for _, tt := range tests {
			t.Run(name+"/"+strconv.Itoa(tt.status), func(t *testing.T) {
				redirect := newReceiver(t, func(seen) answer {
					return answer{status: tt.status, header: map[string]string{"Location": tt.location}}
				})
				cl := newCluster(t)
				s := newSink(t, Config{Producer: cl.producer, HTTP: client})
				d := newDones()
				send(t, s, testAction("moved", nil), redirect.URL+"/in", 1, d)
				d.wait(t, 1)
				r := cl.read(t, "hookstream.dlq", 1)[0]
				reason, _ := header(r, deadletter.HeaderReason)
				status, _ := header(r, deadletter.HeaderStatus)
				if reason != string(deadletter.ReasonRejected) || status != strconv.Itoa(tt.status) {
					t.Errorf("dead letter reason %q status %q, want rejected %d", reason, status, tt.status)
				}
				if n := redirect.count.Load(); n != 1 {
					t.Errorf("the redirecting endpoint got %d requests, want 1 (a redirect is permanent)", n)
				}
				target.none(t, 50*time.Millisecond)
			})
		}
	}
}

// endless answers with status and a body that never ends, and reports
// how many bytes it managed to write once the client hung up.
type endless struct {
	*httptest.Server
	wrote chan int64
}

func newEndless(t *testing.T, status int) *endless {
	t.Helper()
	e := &endless{wrote: make(chan int64, 100)}
	chunk := bytes.Repeat([]byte("x"), 32<<10)
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		var n int64
		for r.Context().Err() == nil {
			k, err := w.Write(chunk)
			n += int64(k)
			if err != nil {
				break
			}
		}
		e.wrote <- n
	}))
	t.Cleanup(e.Close)
	return e
}

// TestResponseBodiesAreReadThroughALimit answers with bodies that never
// end: the sink reads at most maxResponseBody of each, hangs up, and goes on
// (delivered on a 2xx, dead-lettered on a 4xx), instead of reading forever.
func TestResponseBodiesAreReadThroughALimit(t *testing.T) {
	tests := []struct {
		status int
		reason deadletter.Reason // "" = delivered
	}{
		{http.StatusOK, ""},
		{http.StatusBadRequest, deadletter.ReasonRejected},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.status), func(t *testing.T) {
			e := newEndless(t, tt.status)
			cl := newCluster(t)
			s := newSink(t, Config{Producer: cl.producer})
			d := newDones()
			start := time.Now()
			send(t, s, testAction("chatty", nil), e.URL, 1, d)
			d.wait(t, 1)
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("delivery took %v", took)
			}
			if tt.reason != "" {
				r := cl.read(t, "hookstream.dlq", 1)[0]
				if reason, _ := header(r, deadletter.HeaderReason); deadletter.Reason(reason) != tt.reason {
					t.Errorf("reason %q, want %q", reason, tt.reason)
				}
				if msg, _ := header(r, deadletter.HeaderError); strings.Contains(msg, "xxxx") {
					t.Errorf("hookstream-error holds the response body: %.80q", msg)
				}
			}
			select {
			case n := <-e.wrote:
				// What the kernel buffers on loopback comes on top of what
				// the sink read; a reader without a limit never hangs up.
				t.Logf("the endpoint wrote %d bytes before the sink hung up", n)
			case <-time.After(10 * time.Second):
				t.Fatal("the sink never hung up on an endless body")
			}
		})
	}
}

// TestSinkLogsHoldNoSecrets delivers through a failure and a success with
// the sink's logs at debug, and checks that neither the bearer token, the
// shared secret nor a token in the URL's query appears in them.
func TestSinkLogsHoldNoSecrets(t *testing.T) {
	const token, secret, query = "tok-6f1d2c", "whsec_c2VjcmV0LTdhOWU=", "q-5be0aa"
	rc := newReceiver(t, func(s seen) answer {
		if s.n < 2 {
			return answer{status: http.StatusServiceUnavailable}
		}
		return answer{status: http.StatusOK}
	})
	var logs kafkatest.SyncBuffer
	s := newSink(t, Config{Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	d := newDones()
	a := testAction("signed", func(a *rules.Compiled) {
		a.Header = [][2]string{{"Authorization", "Bearer " + token}}
		a.Secrets = [][]byte{[]byte(secret)}
		a.Signature = "standard"
	})
	send(t, s, a, rc.URL+"/in?token="+query, 1, d)
	d.wait(t, 1)
	for range 3 {
		got := rc.next(t)
		if got.header.Get("Authorization") != "Bearer "+token || !VerifySignature([]byte(secret), []byte(got.body), got.header.Get(HeaderSignature)) {
			t.Fatalf("request %d was not sent with the token and a valid signature", got.n)
		}
	}
	out := logs.String()
	if !strings.Contains(out, "delivery failed, will retry") {
		t.Fatalf("no retry logged at debug; logs:\n%s", out)
	}
	for _, s := range []string{token, secret, query} {
		if strings.Contains(out, s) {
			t.Errorf("the logs hold %q:\n%s", s, out)
		}
	}
}
