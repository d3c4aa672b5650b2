package sink

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hookstream/hookstream/internal/deadletter"
	"github.com/hookstream/hookstream/internal/kafkatest"
	"github.com/hookstream/hookstream/rules"
)

const (
	testClientID     = "hookstream-client"
	testClientSecret = "cs-top-secret-77"
)

// tokenServer is a real OAuth2 token endpoint (client credentials grant)
// that issues tok-1, tok-2, ... living expiresIn seconds each; while down
// is set it answers 503.
type tokenServer struct {
	*httptest.Server
	issued    atomic.Int64
	expiresIn atomic.Int64
	down      atomic.Bool
	bad       atomic.Int64 // requests that were not a proper grant
}

func newTokenServer(t *testing.T, expiresIn int64) *tokenServer {
	return newTokenServerOn(t, nil, expiresIn)
}

// newTokenServerOn starts the token server on network n (nil: the real one).
func newTokenServerOn(t *testing.T, n *kafkatest.Network, expiresIn int64) *tokenServer {
	t.Helper()
	ts := &tokenServer{}
	ts.expiresIn.Store(expiresIn)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ts.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		id, secret, ok := r.BasicAuth()
		if !ok {
			id, secret = r.FormValue("client_id"), r.FormValue("client_secret")
		}
		if r.FormValue("grant_type") != "client_credentials" || id != testClientID || secret != testClientSecret ||
			r.FormValue("scope") != "events.write" || r.FormValue("audience") != "crm" {
			ts.bad.Add(1)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":"invalid_client"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"access_token": fmt.Sprintf("tok-%d", ts.issued.Add(1)),
			"token_type":   "Bearer",
			"expires_in":   ts.expiresIn.Load(),
		})
	})
	if n != nil {
		ts.Server = n.HTTPServer(t, h)
		return ts
	}
	ts.Server = httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts
}

// oauthAction is an action that authenticates at tokenURL.
func oauthAction(id, tokenURL string, edit func(a *rules.Compiled)) *rules.Compiled {
	return testAction(id, func(a *rules.Compiled) {
		a.Header = nil
		a.Auth = &rules.Auth{OAuth2: &rules.OAuth2{TokenURL: tokenURL, ClientID: testClientID,
			ClientSecretEnv: "CLIENT_SECRET", Scopes: []string{"events.write"}, Params: map[string]string{"audience": "crm"}}}
		a.ClientSecret = testClientSecret
		if edit != nil {
			edit(a)
		}
	})
}

func TestOAuth2TokenCacheAndExpiry(t *testing.T) {
	tests := []struct {
		name      string
		expiresIn int64
		inFlight  int
		want      int64 // fetches for 12 requests
	}{
		// Concurrent requests share one fetch, and the token serves until
		// shortly before it expires.
		{"a long-lived token is fetched once", 3600, 8, 1},
		// x/oauth2 treats a token as expired ten seconds early: one that
		// lives ten seconds is stale at once, so each request fetches.
		{"an expired token is refreshed", 10, 1, 12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTokenServer(t, tt.expiresIn)
			rc := newReceiver(t, nil)
			m, reader := newMetrics(t)
			s := newSink(t, Config{Metrics: m})
			a := oauthAction("crm", ts.URL+"/token", func(a *rules.Compiled) { a.MaxInFlight = tt.inFlight })
			d := newDones()
			for i := range 12 {
				send(t, s, a, rc.URL, i, d)
			}
			d.wait(t, 12)
			tokens := map[string]bool{}
			for range 12 {
				tokens[rc.next(t).header.Get("Authorization")] = true
			}
			if got := ts.issued.Load(); got != tt.want || int64(len(tokens)) != tt.want {
				t.Errorf("%d tokens fetched, %d different sent (%v), want %d", got, len(tokens), tokens, tt.want)
			}
			if !tokens["Bearer tok-1"] || ts.bad.Load() != 0 {
				t.Errorf("tokens sent %v, %d bad grants", tokens, ts.bad.Load())
			}
			if got := sums(t, reader)["hookstream_auth_token_fetches_total{action=crm,result=ok}"]; got != float64(tt.want) {
				t.Errorf("token fetches counted %v, want %d", got, tt.want)
			}
		})
	}
}

// TestOAuth2TokenRefreshedBeforeItExpires: a token that lives 12s serves
// for 2s (x/oauth2 takes ten seconds off), then the next request fetches
// a fresh one. In a bubble, so x/oauth2's clock is the bubble's.
func TestOAuth2TokenRefreshedBeforeItExpires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t)
		ts := newTokenServerOn(t, b.net, 12)
		rc := b.receiver(t, nil)
		s := b.sink(t, Config{})
		a := oauthAction("crm", ts.URL+"/token", nil)
		d := newDones()
		for i, wait := range []time.Duration{0, 1500 * time.Millisecond, time.Second} {
			time.Sleep(wait)
			send(t, s, a, rc.URL, i, d)
			d.wait(t, 1)
		}
		var got []string
		for range 3 {
			got = append(got, rc.next(t).header.Get("Authorization"))
		}
		want := []string{"Bearer tok-1", "Bearer tok-1", "Bearer tok-2"} // at 0s, 1.5s and 2.5s
		if !slices.Equal(got, want) || ts.issued.Load() != 2 {
			t.Errorf("tokens sent %q after %d fetches, want %q after 2", got, ts.issued.Load(), want)
		}
	})
}

// TestOAuth2RefusedTokenIsRefreshedOnce: a 401 fetches a fresh token and
// tries again once; a second 401 dead-letters the event as rejected.
func TestOAuth2RefusedTokenIsRefreshedOnce(t *testing.T) {
	ts := newTokenServer(t, 3600)
	refuseAll := atomic.Bool{}
	rc := newReceiver(t, func(s seen) answer {
		if refuseAll.Load() || s.header.Get("Authorization") == "Bearer tok-1" { // tok-1 was revoked
			return answer{status: http.StatusUnauthorized}
		}
		return answer{status: http.StatusOK}
	})
	cl := newCluster(t)
	s := newSink(t, Config{Producer: cl.producer})
	a := oauthAction("crm", ts.URL+"/token", nil)
	d := newDones()
	send(t, s, a, rc.URL, 0, d)
	d.wait(t, 1)
	first, second := rc.next(t), rc.next(t)
	if first.header.Get("Authorization") != "Bearer tok-1" || second.header.Get("Authorization") != "Bearer tok-2" ||
		first.header.Get("Idempotency-Key") != second.header.Get("Idempotency-Key") {
		t.Errorf("requests carried %q then %q, want tok-1 then a fresh tok-2 with the same Idempotency-Key",
			first.header.Get("Authorization"), second.header.Get("Authorization"))
	}

	refuseAll.Store(true)
	send(t, s, a, rc.URL, 1, d)
	d.wait(t, 1)
	rc.next(t)
	rc.next(t)
	rc.none(t, 100*time.Millisecond)
	dl := cl.read(t, "hookstream.dlq", 1)[0]
	if reason, _ := header(dl, deadletter.HeaderReason); reason != string(deadletter.ReasonRejected) {
		t.Errorf("dead letter reason %q, want rejected", reason)
	}
	if status, _ := header(dl, deadletter.HeaderStatus); status != "401" {
		t.Errorf("dead letter status %q, want 401", status)
	}
	if got := ts.issued.Load(); got != 3 {
		t.Errorf("%d tokens fetched, want 3 (one, a fresh one after the first 401, one after the next)", got)
	}
}

// TestOAuth2TokenEndpointDownThenBack: while the token endpoint fails, the
// events are retried (nothing is sent without a token); once it is back,
// they are delivered. Each failed fetch is counted.
func TestOAuth2TokenEndpointDownThenBack(t *testing.T) {
	ts := newTokenServer(t, 3600)
	ts.down.Store(true)
	rc := newReceiver(t, nil)
	m, reader := newMetrics(t)
	logs := &kafkatest.SyncBuffer{}
	s := newSink(t, Config{Metrics: m, Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	a := oauthAction("crm", ts.URL+"/token", nil)
	d := newDones()
	send(t, s, a, rc.URL, 0, d)
	kafkatest.Eventually(t, "three failed token fetches", func() bool {
		return sums(t, reader)["hookstream_auth_token_fetches_total{action=crm,result=error}"] >= 3
	})
	if rc.count.Load() != 0 {
		t.Fatalf("%d requests sent without a token", rc.count.Load())
	}
	ts.down.Store(false)
	d.wait(t, 1)
	if got := rc.next(t).header.Get("Authorization"); got != "Bearer tok-1" {
		t.Errorf("delivered with %q, want tok-1", got)
	}
	if ok := sums(t, reader)["hookstream_auth_token_fetches_total{action=crm,result=ok}"]; ok != 1 {
		t.Errorf("token fetches ok = %v, want 1", ok)
	}
	if !strings.Contains(logs.String(), `auth token from `+strings.TrimPrefix(ts.URL, "http://")+`: status 503`) {
		t.Errorf("the failures were not logged with the token endpoint's answer:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), testClientSecret) {
		t.Errorf("the logs show the client secret:\n%s", logs.String())
	}
}

// TestOAuth2TokenEndpointRefused: a token endpoint on an address nothing
// listens on is a retryable failure (dead-lettered once retries run out);
// one the delivery policy refuses is rejected at once. Neither sends the
// event, nor shows the client secret.
func TestOAuth2TokenEndpointRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	ts := newTokenServer(t, 3600)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(ts.URL, "http://"))
	tests := []struct {
		name     string
		tokenURL string
		egress   Egress
		reason   deadletter.Reason
		errText  string
	}{
		{"nothing listening", "http://" + closed + "/token", Egress{}, deadletter.ReasonRetriesExhausted, "auth token from " + closed + ": "},
		{"refused by the delivery policy", "http://localhost:" + port + "/token", Egress{AllowedHosts: []string{"127.0.0.1"}},
			deadletter.ReasonRejected, "auth token from localhost:" + port + ": host localhost is not in delivery.allowed_hosts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := newReceiver(t, nil)
			cl := newCluster(t)
			s := newSink(t, Config{Producer: cl.producer, Egress: tt.egress})
			a := oauthAction("crm", tt.tokenURL, func(a *rules.Compiled) { a.Retry.MaxDuration = rules.Duration(200 * time.Millisecond) })
			d := newDones()
			send(t, s, a, rc.URL, 0, d)
			d.wait(t, 1)
			dl := cl.read(t, "hookstream.dlq", 1)[0]
			reason, _ := header(dl, deadletter.HeaderReason)
			errText, _ := header(dl, deadletter.HeaderError)
			if deadletter.Reason(reason) != tt.reason || !strings.Contains(errText, tt.errText) {
				t.Errorf("dead letter %s: %q, want %s: %q", reason, errText, tt.reason, tt.errText)
			}
			var all bytes.Buffer
			for _, h := range dl.Headers {
				all.Write(h.Value)
			}
			if strings.Contains(all.String(), testClientSecret) {
				t.Errorf("the dead letter shows the client secret: %s", all.String())
			}
			if rc.count.Load() != 0 || ts.issued.Load() != 0 {
				t.Errorf("%d requests sent, %d tokens issued, want none", rc.count.Load(), ts.issued.Load())
			}
		})
	}
}

// TestBasicAuth sends the username and password of auth.basic.
func TestBasicAuth(t *testing.T) {
	rc := newReceiver(t, nil)
	s := newSink(t, Config{})
	a := testAction("basic", func(a *rules.Compiled) {
		a.Header = nil
		a.Auth = &rules.Auth{Basic: &rules.BasicAuth{Username: "svc-hooks", PasswordEnv: "PW"}}
		a.Password = "pw-basic-5150"
	})
	d := newDones()
	send(t, s, a, rc.URL, 0, d)
	d.wait(t, 1)
	r, _ := http.NewRequest(http.MethodPost, "/", nil)
	r.Header = rc.next(t).header
	if user, pass, ok := r.BasicAuth(); !ok || user != "svc-hooks" || pass != "pw-basic-5150" {
		t.Errorf("basic auth %q %q %v", user, pass, ok)
	}
}
