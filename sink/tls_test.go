package sink

import (
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookstream/hookstream/internal/deadletter"
	"github.com/hookstream/hookstream/internal/kafkatest"
	"github.com/hookstream/hookstream/rules"
)

// tlsOf compiles tls settings as rules does and returns the action's TLS
// configuration.
func tlsOf(t *testing.T, settings *rules.TLS) func(a *rules.Compiled) {
	t.Helper()
	c, err := rules.Compile(rules.Action{ID: "x", Trigger: "true", URL: "https://127.0.0.1/", TLS: settings}, rules.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return func(a *rules.Compiled) { a.TLS, a.TLSConfig = settings, c.TLSConfig }
}

// TestMutualTLS: against a server that wants a client certificate from its
// CA, only the action with that certificate delivers; no certificate, a
// foreign one, and a server the action does not trust are permanent
// failures with their reason in the dead letter; a connection that breaks
// during the handshake is retried.
func TestMutualTLS(t *testing.T) {
	ca, other := kafkatest.NewCA(t, "partner CA"), kafkatest.NewCA(t, "someone else's CA")
	var mu sync.Mutex
	var clients []string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		clients = append(clients, r.TLS.PeerCertificates[0].Subject.CommonName)
		mu.Unlock()
	}))
	srv.TLS = ca.ServerTLS(t, true)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	broken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { broken.Close() })
	go func() { // accepts, then hangs up mid-handshake
		for {
			c, err := broken.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()

	caFile := ca.File(t)
	cert, key := ca.Client(t, "hookstream").Files(t)
	foreignCert, foreignKey := other.Client(t, "hookstream").Files(t)
	cl := newCluster(t)
	s := newSink(t, Config{Producer: cl.producer})
	retries := func(a *rules.Compiled) { a.Retry.MaxDuration = rules.Duration(300 * time.Millisecond) }
	tests := []struct {
		id, url string
		edit    func(a *rules.Compiled)
		reason  deadletter.Reason // "" delivered
		errText string
	}{
		{"right-cert", srv.URL, tlsOf(t, &rules.TLS{CAFile: caFile, CertFile: cert, KeyFile: key}), "", ""},
		{"no-cert", srv.URL, tlsOf(t, &rules.TLS{CAFile: caFile}), deadletter.ReasonRejected, "the server wants a client certificate it trusts (tls.cert_file, tls.key_file)"},
		{"foreign-cert", srv.URL, tlsOf(t, &rules.TLS{CAFile: caFile, CertFile: foreignCert, KeyFile: foreignKey}), deadletter.ReasonRejected, "the server wants a client certificate it trusts"},
		{"untrusted-server", srv.URL, func(*rules.Compiled) {}, deadletter.ReasonRejected, "signed by an authority this action does not trust (tls.ca_file)"},
		{"broken-connection", "https://" + broken.Addr().String() + "/", tlsOf(t, &rules.TLS{CAFile: caFile}), deadletter.ReasonRetriesExhausted, ""},
	}
	d := newDones()
	for i, tt := range tests {
		a := testAction(tt.id, func(a *rules.Compiled) { tt.edit(a); retries(a) })
		send(t, s, a, tt.url, i, d)
	}
	d.wait(t, len(tests))
	mu.Lock()
	if len(clients) != 1 || clients[0] != "hookstream" {
		t.Errorf("the server saw client certificates %v, want the right one once", clients)
	}
	mu.Unlock()
	letters := map[string]map[string]string{}
	for _, dl := range cl.read(t, "hookstream.dlq", len(tests)-1) {
		h := map[string]string{}
		for _, kv := range dl.Headers {
			h[kv.Key] = string(kv.Value)
		}
		letters[h[deadletter.HeaderAction]] = h
	}
	for _, tt := range tests {
		dl, ok := letters[tt.id]
		t.Logf("%s: %s %q after %s attempts", tt.id, dl[deadletter.HeaderReason], dl[deadletter.HeaderError], dl[deadletter.HeaderAttempts])
		switch {
		case tt.reason == "" && ok:
			t.Errorf("%s: dead-lettered: %v", tt.id, dl)
		case tt.reason == "":
		case !ok:
			t.Errorf("%s: no dead letter", tt.id)
		case dl[deadletter.HeaderReason] != string(tt.reason) || !strings.Contains(dl[deadletter.HeaderError], tt.errText):
			t.Errorf("%s: dead letter %s: %q, want %s: %q", tt.id, dl[deadletter.HeaderReason], dl[deadletter.HeaderError], tt.reason, tt.errText)
		case tt.reason == deadletter.ReasonRejected && dl[deadletter.HeaderAttempts] != "1":
			t.Errorf("%s: %s attempts, want 1: a certificate problem is not retried", tt.id, dl[deadletter.HeaderAttempts])
		case tt.reason == deadletter.ReasonRetriesExhausted:
			if n, _ := strconv.Atoi(dl[deadletter.HeaderAttempts]); n < 2 {
				t.Errorf("%s: %s attempts, want the broken handshake retried", tt.id, dl[deadletter.HeaderAttempts])
			}
		}
	}
}
