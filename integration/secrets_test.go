package integration

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hookstream/hookstream/internal/kafkatest"
	"github.com/hookstream/hookstream/sink"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Known secrets: each is set the way users set it, and must show up
// nowhere but where it is used (the request to the endpoint, the broker).
const (
	sharedSecret = "shh-shared-9f3b27c1d4"   // X-Signature key (first of the rotation)
	oldKey       = "old-whsec-key-5d2e81"    // the key inside the second, whsec_ secret
	bearerToken  = "tok-bearer-5e81aa77f0"   // Authorization: Bearer ${env:CRM_TOKEN}
	saslPassword = "pw-sasl-c0ffee42b7"      // SCRAM-SHA-512, from KAFKA_PASSWORD
	wrongPass    = "pw-wrong-guess-0d15ea5e" // a refused password must not be echoed either
	basicPass    = "pw-basic-8d1e55aa42"     // auth.basic, from BASIC_PASSWORD
	clientSecret = "cs-oauth-61c3f09e7b"     // auth.oauth2, from CLIENT_SECRET
	accessToken  = "at-issued-4b7de2c915"    // what the token endpoint issues (then tok-2...)
)

var whsecSecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte(oldKey))

const secretsRules = `actions:
- id: crm
  trigger: type == "track" && properties.count > 3
  url: URL/crm?team=growth
  headers:
    Authorization: "Bearer ${env:CRM_TOKEN}"
    X-Team: growth
  secret_env: WEBHOOK_SECRET
  signature: standard
  retry: {initial_backoff: 10ms, max_backoff: 20ms}
- id: strict
  trigger: type == "track" && event == "Rejected"
  url: URL/strict
  headers:
    Authorization: "Bearer ${env:CRM_TOKEN}"
  secret_env: WEBHOOK_SECRET
- id: basic
  trigger: type == "track" && event == "Upgraded"
  url: URL/basic
  auth:
    basic: {username: svc-hooks, password_env: BASIC_PASSWORD}
- id: oauth
  trigger: type == "track" && event == "Upgraded"
  url: URL/oauth
  retry: {initial_backoff: 10ms, max_backoff: 20ms}
  auth:
    oauth2: {token_url: TOKEN_ENDPOINT/token, client_id: hookstream, client_secret_env: CLIENT_SECRET, scopes: [events.write]}
- id: mtls
  trigger: type == "track" && event == "Upgraded"
  url: MTLS_ENDPOINT/mtls
  tls: {ca_file: CAFILE, cert_file: CERTFILE, key_file: KEYFILE}
`

// authEndpoints starts what the auth and tls actions of secretsRules talk
// to: a token endpoint that fails once, then issues accessToken (refused
// once by the receiver, so a fresh one is fetched) and later tokens; and an
// endpoint that wants a client certificate. It returns the rules with
// their addresses and files, the key file's content, and a count of the
// requests the mTLS endpoint answered.
func authEndpoints(t *testing.T, rulesYAML string) (string, string, *atomic.Int64) {
	t.Helper()
	var fetches, issued atomic.Int64
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if !ok {
			id, secret = r.FormValue("client_id"), r.FormValue("client_secret")
		}
		switch {
		case fetches.Add(1) == 1:
			http.Error(w, "try later", http.StatusServiceUnavailable)
			return
		case id != "hookstream" || secret != clientSecret:
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
			return
		}
		tok := accessToken // the first; later ones end in their number
		if n := issued.Add(1); n > 1 {
			tok = fmt.Sprintf("%s-%d", accessToken, n)
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_in":3600}`, tok)
	}))
	t.Cleanup(tokens.Close)
	ca := kafkatest.NewCA(t, "partner CA")
	var mtlsCalls atomic.Int64
	mtls := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { mtlsCalls.Add(1) }))
	mtls.TLS = ca.ServerTLS(t, true)
	mtls.StartTLS()
	t.Cleanup(mtls.Close)
	cert, key := ca.Client(t, "hookstream").Files(t)
	keyPEM, err := os.ReadFile(key)
	if err != nil {
		t.Fatal(err)
	}
	return strings.NewReplacer("TOKEN_ENDPOINT", tokens.URL, "MTLS_ENDPOINT", mtls.URL, "CAFILE", ca.File(t),
		"CERTFILE", cert, "KEYFILE", key).Replace(rulesYAML), string(keyPEM), &mtlsCalls
}

// TestSecretsNeverLeak runs a worker at debug level through failing,
// refused and succeeding deliveries, a poison record and a failing trigger,
// with a shared secret (two, for rotation), a bearer token, a SASL password,
// a basic-auth password, an OAuth2 client secret and the access tokens it
// gets (one refused with a 401, after a token endpoint that failed once),
// and a client certificate's private key, then greps everything a user or an attacker with read access
// could see: the worker's logs, /metrics, the status page and its JSON,
// the dead-letter topic, the rules topic, and the output of rules validate,
// test, apply and list, verify, --print-config and a refused start.
func TestSecretsNeverLeak(t *testing.T) {
	s := startSecureCluster(t, saslPassword)
	var crmCalls, oauthCalls atomic.Int64
	rv := startReceiver(t, func(_ int, r *http.Request, _ []byte) (int, http.Header) {
		switch {
		case r.URL.Path == "/strict":
			return http.StatusBadRequest, nil
		case r.URL.Path == "/basic":
			return http.StatusOK, nil
		case r.URL.Path == "/oauth" && oauthCalls.Add(1) == 1:
			return http.StatusUnauthorized, nil // the first token is refused: a fresh one is fetched
		case r.URL.Path == "/oauth":
			return http.StatusOK, nil
		case crmCalls.Add(1) <= 2:
			return http.StatusServiceUnavailable, nil
		}
		return http.StatusOK, nil
	})
	rulesYAML, keyPEM, mtlsCalls := authEndpoints(t, rulesFor(secretsRules, rv.URL))
	rulesFile := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(rulesFile, []byte(rulesYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"WEBHOOK_SECRET=" + sharedSecret + " " + whsecSecret, "CRM_TOKEN=" + bearerToken,
		"BASIC_PASSWORD=" + basicPass, "CLIENT_SECRET=" + clientSecret, "KAFKA_PASSWORD=" + saslPassword} // KAFKA_PASSWORD last
	conf := s.config(t, "log: {level: debug}\n")
	seen := map[string]string{} // where → what it showed

	w := startWorker(t, s.Cluster, "g-secrets", rulesYAML, env, "--config", conf, "--commit-interval", "100ms")
	s.Produce(t,
		&kgo.Record{Topic: "events", Value: []byte(`{"type":"track","event":"Signed Up","messageId":"m-1","properties":{"count":5}}`)},
		&kgo.Record{Topic: "events", Value: []byte(`{"type":"track","event":"Rejected","messageId":"m-2","properties":{"count":"x"}}`)},
		&kgo.Record{Topic: "events", Value: []byte(`{"type":"track",`)},
		&kgo.Record{Topic: "events", Value: []byte(`{"type":"track","event":"Upgraded","messageId":"m-4","properties":{"count":7}}`)})
	reqs := rv.waitFor(t, "two deliveries to crm after two failures, and to basic and oauth", func(reqs []request) bool {
		return crmCalls.Load() >= 4 && oauthCalls.Load() >= 2 && slices.ContainsFunc(reqs, func(r request) bool { return r.Path == "/basic" })
	})
	waitCommitted(t, s.Cluster, "g-secrets", map[int32]int64{0: 4})
	if mtlsCalls.Load() != 1 {
		t.Errorf("the mTLS endpoint answered %d requests, want 1", mtlsCalls.Load())
	}

	// The secrets were used: the requests carry the token and signatures
	// that verify with each secret, the password and the access tokens.
	for _, r := range reqs {
		switch r.Path {
		case "/basic":
			if r.Header.Get("Authorization") != "Basic "+base64.StdEncoding.EncodeToString([]byte("svc-hooks:"+basicPass)) {
				t.Errorf("basic: Authorization %q", r.Header.Get("Authorization"))
			}
			continue
		case "/oauth":
			if a := r.Header.Get("Authorization"); !strings.HasPrefix(a, "Bearer "+accessToken) {
				t.Errorf("oauth: Authorization %q, want the issued tokens", a)
			}
			continue
		}
		if r.Header.Get("Authorization") != "Bearer "+bearerToken || !sink.VerifySignature([]byte(sharedSecret), r.Body, r.Header.Get("X-Signature")) {
			t.Fatalf("request to %s lacks the token or a valid X-Signature", r.Path)
		}
		if r.Path == "/crm" && sink.VerifyStandardRequest([][]byte{[]byte(whsecSecret)}, r.Header, r.Body, time.Now(), time.Minute) != nil {
			t.Fatalf("webhook-signature does not verify with the rotated secret")
		}
	}
	for _, path := range []string{"/metrics", "/", "/status.json", "/readyz", "/healthz", "/status.js"} {
		seen["GET "+path] = httpGet(t, "http://"+w.http+path)
	}
	if !strings.Contains(seen["GET /metrics"], `hookstream_trigger_errors_total{action="crm"`) {
		t.Errorf("the failing trigger was not counted; /metrics:\n%s", seen["GET /metrics"])
	}
	for _, dl := range s.Read(t, "hookstream.dlq", 2) {
		var b strings.Builder
		for _, h := range dl.Headers {
			b.WriteString(h.Key + ": " + string(h.Value) + "\n")
		}
		seen["dead letter "+header(dl, "hookstream-reason")] = b.String() + string(dl.Key) + string(dl.Value)
	}
	if !strings.Contains(seen["dead letter rejected"], "hookstream-error: POST") {
		t.Errorf("no refused delivery in the dead letters:\n%v", seen)
	}
	if code := w.stop(t, syscall.SIGTERM); code != 0 {
		t.Errorf("worker exit %d", code)
	}
	seen["worker logs"] = w.out.String()
	if !strings.Contains(seen["worker logs"], "delivery failed, will retry") {
		t.Errorf("the failed deliveries were not logged at debug:\n%s", seen["worker logs"])
	}

	event := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(event, []byte(`{"type":"track","event":"Signed Up","messageId":"m-1","properties":{"count":5}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	upgraded := filepath.Join(t.TempDir(), "upgraded.json")
	if err := os.WriteFile(upgraded, []byte(`{"type":"track","event":"Upgraded","messageId":"m-4","properties":{"count":7}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	commands := []struct {
		name string
		args []string
	}{ // in this order: list after apply
		{"rules validate", []string{"rules", "validate", "-f", rulesFile}},
		{"rules test", []string{"rules", "test", "-f", rulesFile, "--event", event}},
		{"rules test auth", []string{"rules", "test", "-f", rulesFile, "--event", upgraded}},
		{"rules apply", []string{"rules", "apply", "-f", rulesFile, "--config", conf, "--brokers", s.Addr}},
		{"rules list", []string{"rules", "list", "--config", conf, "--brokers", s.Addr}},
		{"rules list json", []string{"rules", "list", "--output", "json", "--config", conf, "--brokers", s.Addr}},
		{"print-config", []string{"run", "--print-config", "--config", conf, "--rules", rulesFile}},
		{"verify", []string{"verify", "--secret-env", "WEBHOOK_SECRET", "--body", event, "--signature", "0000"}},
	}
	for _, cmd := range commands {
		out, _ := runHookstream(t, env, cmd.args...)
		seen[cmd.name] = out
	}
	if !regexp.MustCompile(`X-Signature: [0-9a-f]{40}\n`).MatchString(seen["rules test"]) {
		t.Errorf("rules test does not show the computed signature:\n%s", seen["rules test"])
	}
	if !strings.Contains(seen["rules test auth"], "Authorization: Basic *** (svc-hooks, the password from BASIC_PASSWORD)") ||
		!strings.Contains(seen["rules test auth"], "Authorization: Bearer *** (a token for client hookstream from") {
		t.Errorf("rules test does not show the auth headers, masked:\n%s", seen["rules test auth"])
	}
	if !strings.Contains(seen["rules list json"], `"client_secret_env": "CLIENT_SECRET"`) {
		t.Errorf("rules list does not name the client secret's variable:\n%s", seen["rules list json"])
	}
	if !strings.Contains(seen["rules list"], "crm") || !strings.Contains(seen["rules list json"], `"secret_env": "WEBHOOK_SECRET"`) {
		t.Errorf("rules list does not list the actions:\n%s\n%s", seen["rules list"], seen["rules list json"])
	}
	var topic strings.Builder
	for _, r := range s.Read(t, "hookstream.rules", 2) {
		topic.Write(r.Value)
	}
	seen["rules topic"] = topic.String()
	if !strings.Contains(seen["rules topic"], "${env:CRM_TOKEN}") {
		t.Errorf("the rules topic should hold the reference, not the value:\n%s", seen["rules topic"])
	}
	refused := append([]string(nil), env...)
	refused[len(refused)-1] = "KAFKA_PASSWORD=" + wrongPass
	out, code := runHookstream(t, refused, "run", "--config", conf, "--brokers", s.Addr, "--rules", rulesFile, "--http", "127.0.0.1:0")
	if code != 2 {
		t.Errorf("run with a wrong password: exit %d, want 2:\n%s", code, out)
	}
	seen["refused start"] = out

	for where, text := range seen {
		secrets := []string{sharedSecret, whsecSecret, oldKey, bearerToken, saslPassword, wrongPass,
			base64.StdEncoding.EncodeToString([]byte(sharedSecret)), base64.StdEncoding.EncodeToString([]byte(bearerToken)),
			basicPass, base64.StdEncoding.EncodeToString([]byte("svc-hooks:" + basicPass)), clientSecret, accessToken}
		for _, line := range strings.Split(keyPEM, "\n") { // the private key, line by line
			if len(line) > 16 && !strings.HasPrefix(line, "-----") {
				secrets = append(secrets, line)
			}
		}
		for _, secret := range secrets {
			if strings.Contains(text, secret) {
				t.Errorf("%s shows the secret %q:\n%s", where, secret, text)
			}
		}
	}
	t.Logf("searched %d outputs, %d bytes", len(seen), func() (n int) {
		for _, v := range seen {
			n += len(v)
		}
		return n
	}())
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	var b bytes.Buffer
	resp.Header.Write(&b)
	return b.String() + string(body)
}

// runHookstream runs a command to completion with extra environment
// variables and returns its combined output and exit status.
func runHookstream(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), kafkatest.WaitTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil || (err != nil && cmd.ProcessState == nil) {
		t.Fatalf("hookstream %s: %v", strings.Join(args, " "), err)
	}
	return string(out), cmd.ProcessState.ExitCode()
}
