package integration

import (
	"crypto/tls"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hookstream/hookstream/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// secure is a kfake cluster that wants TLS with a client certificate and
// SASL SCRAM-SHA-512, with the files a worker needs to reach it.
type secure struct {
	*kafkatest.Cluster
	caFile, certFile, keyFile string
	user, password            string
}

// startSecureCluster starts the cluster with a fresh CA, a broker
// certificate for 127.0.0.1 and a client certificate written to files.
func startSecureCluster(t *testing.T, password string) *secure {
	t.Helper()
	ca := kafkatest.NewCA(t, "test CA")
	client := ca.Client(t, "hookstream")
	s := &secure{caFile: ca.File(t), user: "hookstream", password: password}
	s.certFile, s.keyFile = client.Files(t)
	s.Cluster = kafkatest.Start(t, kafkatest.Config{
		Broker: []kfake.Opt{kfake.SeedTopics(1, "events"),
			kfake.SeedTopics(1, "hookstream.dlq", "hookstream.retry"), kfake.AllowAutoTopicCreation(),
			kfake.TLS(ca.ServerTLS(t, true)),
			kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-512", s.user, password)},
		Client: []kgo.Opt{
			kgo.DialTLSConfig(&tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{client.TLS()}, MinVersion: tls.VersionTLS12}),
			kgo.SASL(scram.Auth{User: s.user, Pass: password}.AsSha512Mechanism()),
		},
	})
	return s
}

// config is the worker's config file for the cluster, with extra YAML.
func (s *secure) config(t *testing.T, extra string) string {
	t.Helper()
	return writeConfig(t, "kafka:\n  tls: {ca_file: "+s.caFile+", cert_file: "+s.certFile+", key_file: "+s.keyFile+"}\n"+
		"  sasl: {mechanism: SCRAM-SHA-512, username: "+s.user+", password_env: KAFKA_PASSWORD}\n"+extra)
}

// TestSecureKafkaEndToEnd runs a worker against brokers that want a client
// certificate and SCRAM-SHA-512: it consumes, delivers, dead-letters and
// commits through them. With a wrong password it exits 2 within seconds.
func TestSecureKafkaEndToEnd(t *testing.T) {
	s := startSecureCluster(t, "scram-pw-1d9c")
	rv := startReceiver(t, func(_ int, _ *http.Request, body []byte) (int, http.Header) {
		if strings.Contains(string(body), `"event":"Bad"`) {
			return http.StatusBadRequest, nil
		}
		return http.StatusOK, nil
	})
	rules := rulesFor("actions:\n- id: all\n  trigger: \"true\"\n  url: URL/in\n", rv.URL)

	t.Run("wrong password", func(t *testing.T) {
		start := time.Now()
		w := startWorker(t, s.Cluster, "g-secure", rules, []string{"KAFKA_PASSWORD=not-the-password"}, "--config", s.config(t, ""))
		select {
		case <-w.done:
		case <-time.After(30 * time.Second):
			t.Fatal("the worker is still running 30s after a refused password")
		}
		out := w.out.String()
		if code := w.cmd.ProcessState.ExitCode(); code != 2 {
			t.Errorf("exit %d, want 2", code)
		}
		if !strings.Contains(out, `the brokers refused SCRAM-SHA-512 authentication as "hookstream" with the password from KAFKA_PASSWORD`) {
			t.Errorf("output does not say what was refused:\n%s", out)
		}
		if strings.Contains(out, "not-the-password") {
			t.Errorf("output holds the password:\n%s", out)
		}
		if took := time.Since(start); took > 15*time.Second {
			t.Errorf("took %v to exit", took)
		}
	})

	w := startWorker(t, s.Cluster, "g-secure", rules, []string{"KAFKA_PASSWORD=" + s.password},
		"--config", s.config(t, ""), "--commit-interval", "100ms")
	s.Produce(t, &kgo.Record{Topic: "events", Value: trackEvent(1, "Good")}, &kgo.Record{Topic: "events", Value: trackEvent(2, "Bad")})
	rv.waitFor(t, "both events", func(reqs []request) bool { return len(reqs) >= 2 })
	dl := s.Read(t, "hookstream.dlq", 1)[0]
	if header(dl, "hookstream-reason") != "rejected" || header(dl, "hookstream-status") != "400" {
		t.Errorf("dead letter reason %q status %q", header(dl, "hookstream-reason"), header(dl, "hookstream-status"))
	}
	waitCommitted(t, s.Cluster, "g-secure", map[int32]int64{0: 2})
	if code := w.stop(t, syscall.SIGTERM); code != 0 {
		t.Errorf("exit %d after SIGTERM", code)
	}
}

// TestEndpointPolicyEndToEnd runs a worker with deny_private_networks and
// another with allowed_hosts: every refused endpoint is dead-lettered as
// rejected, naming the rule that refused it, and gets no request at all.
func TestEndpointPolicyEndToEnd(t *testing.T) {
	rv := startReceiver(t, nil)
	port := rv.Listener.Addr().(*net.TCPAddr).Port
	tests := []struct {
		name, config, url, want string
	}{
		{"loopback address", "deny_private_networks: true", rv.URL + "/ip", "private address (delivery.deny_private_networks)"},
		{"name resolving to loopback", "deny_private_networks: true", "http://localhost:" + strconv.Itoa(port) + "/name", "private address (delivery.deny_private_networks)"},
		{"cloud metadata address", "deny_private_networks: true", "http://169.254.169.254/latest/meta-data/", "private address (delivery.deny_private_networks)"},
		{"IPv6 loopback", "deny_private_networks: true", "http://[::1]:" + strconv.Itoa(port) + "/v6", "private address (delivery.deny_private_networks)"},
		{"host not allowed", "allowed_hosts: [hooks.partner.example]", rv.URL + "/allowed", "host 127.0.0.1 is not in delivery.allowed_hosts"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := startCluster(t, 1, "events")
			group := "g-policy"
			w := startWorker(t, c, group, rulesFor("actions:\n- id: guarded\n  trigger: \"true\"\n  url: URL\n", tt.url), nil,
				"--config", writeConfig(t, "delivery:\n  "+tt.config+"\n"), "--commit-interval", "100ms")
			c.Produce(t, &kgo.Record{Topic: "events", Value: trackEvent(i, "Policy")})
			dl := c.Read(t, "hookstream.dlq", 1)[0]
			if header(dl, "hookstream-reason") != "rejected" || header(dl, "hookstream-attempts") != "1" {
				t.Errorf("dead letter reason %q after %s attempts, want rejected at once",
					header(dl, "hookstream-reason"), header(dl, "hookstream-attempts"))
			}
			if msg := header(dl, "hookstream-error"); !strings.Contains(msg, tt.want) {
				t.Errorf("hookstream-error %q does not say %q", msg, tt.want)
			}
			waitCommitted(t, c, group, map[int32]int64{0: 1})
			w.stop(t, syscall.SIGTERM)
		})
	}
	if n := len(rv.requests()); n != 0 {
		t.Errorf("refused endpoints got %d requests", n)
	}
}

// TestRedirectIsNotFollowedEndToEnd answers with a redirect to another
// receiver: the worker never follows it and dead-letters the event as
// rejected with the 3xx status.
func TestRedirectIsNotFollowedEndToEnd(t *testing.T) {
	target := startReceiver(t, nil)
	redirect := startReceiver(t, func(int, *http.Request, []byte) (int, http.Header) {
		return http.StatusTemporaryRedirect, http.Header{"Location": {target.URL + "/elsewhere"}}
	})
	c := startCluster(t, 1, "events")
	startWorker(t, c, "g-redirect", rulesFor("actions:\n- id: moved\n  trigger: \"true\"\n  url: URL/in\n", redirect.URL), nil)
	c.Produce(t, &kgo.Record{Topic: "events", Value: trackEvent(1, "Moved")})
	dl := c.Read(t, "hookstream.dlq", 1)[0]
	if header(dl, "hookstream-reason") != "rejected" || header(dl, "hookstream-status") != "307" {
		t.Errorf("dead letter reason %q status %q, want rejected 307", header(dl, "hookstream-reason"), header(dl, "hookstream-status"))
	}
	if n := len(target.requests()); n != 0 {
		t.Errorf("the redirect was followed: %d requests to its target", n)
	}
	if n := len(redirect.requests()); n != 1 {
		t.Errorf("%d requests to the redirecting endpoint, want 1", n)
	}
}
