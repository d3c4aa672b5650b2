package config

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLoadYAML(t *testing.T) {
	const full = `kafka:
  brokers: [k1:9092, k2:9092]
  topics: [events, more]
  group: workers
  rules_topic: r
  dlq_topic: d
  retry_topic: rt
  tls: {ca_file: ca.pem, cert_file: client.pem, key_file: client-key.pem}
  sasl: {mechanism: SCRAM-SHA-512, username: hookstream, password_env: KAFKA_PASSWORD}
rules_file: rules.yaml
http: 0.0.0.0:9464
max_event_bytes: 2048
max_buffered_events: 500
max_buffered_bytes: 1048576
commit_interval: 250ms
shutdown_timeout: 1m
delivery:
  allowed_hosts: [hooks.partner.example]
  deny_private_networks: true
`
	c := Default()
	if err := c.LoadYAML("hs.yaml", []byte(full)); err != nil {
		t.Fatalf("LoadYAML: %v", err)
	}
	want := Default()
	want.Kafka = Kafka{
		Brokers: []string{"k1:9092", "k2:9092"}, Topics: []string{"events", "more"}, Group: "workers",
		RulesTopic: "r", DLQTopic: "d", RetryTopic: "rt",
		TLS:  &TLS{CAFile: "ca.pem", CertFile: "client.pem", KeyFile: "client-key.pem"},
		SASL: &SASL{Mechanism: "SCRAM-SHA-512", Username: "hookstream", PasswordEnv: "KAFKA_PASSWORD"},

		SessionTimeout: Default().Kafka.SessionTimeout,
	}
	want.RulesFile, want.HTTP = "rules.yaml", "0.0.0.0:9464"
	want.MaxEventBytes, want.MaxBufferedEvents, want.MaxBufferedBytes = 2048, 500, 1<<20
	want.CommitInterval, want.ShutdownTimeout = 250*time.Millisecond, time.Minute
	want.Delivery = Delivery{AllowedHosts: []string{"hooks.partner.example"}, DenyPrivateNetworks: true}
	if !equal(c, want) {
		t.Errorf("loaded\n%s\nwant\n%s", dump(t, c), dump(t, want))
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	for key, origin := range map[string]string{
		"kafka.brokers":        "hs.yaml:2",
		"kafka.sasl.mechanism": "hs.yaml:9",
		"commit_interval":      "hs.yaml:15",
		"log.format":           "default",
	} {
		if got := c.Origin(key); got != origin {
			t.Errorf("Origin(%s) = %q, want %q", key, got, origin)
		}
	}
}

func TestLoadYAMLErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // each must appear in the error
	}{
		{"unknown top-level key", "http: 127.0.0.1:1\nhtpp: x\n", []string{`f.yaml:2: unknown key "htpp" at the top level`}},
		{"unknown nested key", "kafka:\n  group: g\n  grup: g\n", []string{`f.yaml:3: unknown key "grup" in kafka`, "known: brokers, topics"}},
		{"bad duration", "commit_interval: 5\n", []string{`f.yaml:1: commit_interval: want a duration`}},
		{"bad integer", "max_event_bytes: lots\n", []string{`f.yaml:1: max_event_bytes: want an integer, got "lots"`}},
		{"bad bool", "delivery:\n  deny_private_networks: maybe\n", []string{`f.yaml:2: delivery.deny_private_networks: want true or false`}},
		{"list for a value", "kafka:\n  group: [a, b]\n", []string{`f.yaml:2: kafka.group: want a single value, got a list`}},
		{"value for a section", "kafka: brokers\n", []string{`f.yaml:1: kafka: want a mapping of keys`}},
		{"mapping in a list", "kafka:\n  brokers:\n  - {host: a}\n", []string{`f.yaml:3: kafka.brokers: want a list of values`}},
		{"duplicate key", "http: a:1\nhttp: b:2\n", []string{`f.yaml:2: http: duplicate key`}},
		{"syntax error", "kafka:\n  brokers: [a\n", []string{"f.yaml:"}},
		{"every problem at once", "htpp: x\ncommit_interval: soon\nkafka:\n  grup: g\n",
			[]string{`f.yaml:1: unknown key "htpp"`, `f.yaml:2: commit_interval`, `f.yaml:4: unknown key "grup"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			err := c.LoadYAML("f.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatalf("LoadYAML succeeded, want an error containing %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadYAMLEmptyAndNull(t *testing.T) {
	for name, doc := range map[string]string{"empty": "", "comment only": "# nothing\n", "null section": "kafka:\n"} {
		t.Run(name, func(t *testing.T) {
			c := Default()
			if err := c.LoadYAML("f.yaml", []byte(doc)); err != nil {
				t.Fatalf("LoadYAML: %v", err)
			}
			if !equal(c, Default()) {
				t.Errorf("config changed:\n%s", dump(t, c))
			}
		})
	}
}

func TestPrecedence(t *testing.T) {
	// defaults < environment < file < flags
	env := map[string]string{
		"HOOKSTREAM_BROKERS": "env1:9092, env2:9092",
		"HOOKSTREAM_GROUP":   "env-group",
		"HOOKSTREAM_HTTP":    "127.0.0.1:1111",
		"OTHER":              "ignored",
	}
	file := filepath.Join(t.TempDir(), "hs.yaml")
	if err := os.WriteFile(file, []byte("kafka:\n  group: file-group\nhttp: 127.0.0.1:2222\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := Default()
	if err := c.ApplyEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		t.Fatalf("ApplyEnv: %v", err)
	}
	if err := c.LoadFile(file); err != nil {
		t.Fatalf("LoadFile: %v", err)
	}
	if err := c.Set("http", "127.0.0.1:3333", "flag --http"); err != nil {
		t.Fatalf("Set: %v", err)
	}
	tests := []struct {
		name, got, want, origin, wantOrigin string
	}{
		{"default", strings.Join(c.Kafka.Topics, ","), "events", c.Origin("kafka.topics"), "default"},
		{"env over default", strings.Join(c.Kafka.Brokers, ","), "env1:9092,env2:9092", c.Origin("kafka.brokers"), "env HOOKSTREAM_BROKERS"},
		{"file over env", c.Kafka.Group, "file-group", c.Origin("kafka.group"), file + ":2"},
		{"flag over file", c.HTTP, "127.0.0.1:3333", c.Origin("http"), "flag --http"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want || tt.origin != tt.wantOrigin {
				t.Errorf("got %q from %q, want %q from %q", tt.got, tt.origin, tt.want, tt.wantOrigin)
			}
		})
	}
}

func TestApplyEnvErrors(t *testing.T) {
	env := map[string]string{"HOOKSTREAM_COMMIT_INTERVAL": "often", "HOOKSTREAM_MAX_EVENT_BYTES": "1e6"}
	c := Default()
	err := c.ApplyEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	for _, w := range []string{
		`commit_interval (env HOOKSTREAM_COMMIT_INTERVAL): want a duration`,
		`max_event_bytes (env HOOKSTREAM_MAX_EVENT_BYTES): want an integer`,
	} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("ApplyEnv error %v does not contain %q", err, w)
		}
	}
}

func TestSetUnknownKey(t *testing.T) {
	c := Default()
	for _, key := range []string{"nope", "kafka.nope", "kafka", "kafka.brokers.x"} {
		if err := c.Set(key, "x", "test"); err == nil {
			t.Errorf("Set(%q) succeeded, want an error", key)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(c *Config)
		want   []string // empty = valid
	}{
		{"defaults", func(*Config) {}, nil},
		{"no brokers", func(c *Config) { c.Kafka.Brokers = nil }, []string{"kafka.brokers (default): want at least one"}},
		{"broker without port", func(c *Config) { c.Set("kafka.brokers", "kafka", "flag --brokers") },
			[]string{`kafka.brokers (flag --brokers): "kafka": want host:port`}},
		{"bad topic", func(c *Config) { c.Kafka.Topics = []string{"a b"} }, []string{`kafka.topics (default): "a b" is not a topic name`}},
		{"dlq is a source", func(c *Config) { c.Kafka.DLQTopic = "events" }, []string{"kafka.dlq_topic", "also a source topic"}},
		{"bad sasl", func(c *Config) { c.Kafka.SASL = &SASL{Mechanism: "GSSAPI"} },
			[]string{"kafka.sasl.mechanism", "kafka.sasl.username", "kafka.sasl.password_env"}},
		{"lower-case sasl", func(c *Config) {
			c.Kafka.SASL = &SASL{Mechanism: "scram-sha-256", Username: "u", PasswordEnv: "P"}
		}, nil},
		{"cert without key", func(c *Config) { c.Kafka.TLS = &TLS{CertFile: "c.pem"} }, []string{"kafka.tls", "set both or neither"}},
		{"zero sizes", func(c *Config) {
			c.MaxEventBytes, c.MaxBufferedEvents, c.MaxBufferedBytes, c.CommitInterval = 0, -1, 0, 0
		},
			[]string{"max_event_bytes", "max_buffered_events", "max_buffered_bytes", "commit_interval"}},
		{"bad http", func(c *Config) { c.HTTP = "9464" }, []string{`http (default): "9464": want host:port`}},
		{"bad allowed host", func(c *Config) { c.Delivery.AllowedHosts = []string{"https://x"} }, []string{"delivery.allowed_hosts"}},
		{"bad log", func(c *Config) { c.Log = Log{Format: "xml", Level: "loud"} }, []string{"log.format", "log.level"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.modify(&c)
			err := c.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate passed, want errors %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestWriteRoundTrip(t *testing.T) {
	c := Default()
	c.Kafka.SASL = &SASL{Mechanism: "PLAIN", Username: "u", PasswordEnv: "KAFKA_PASSWORD"}
	if err := c.Set("kafka.topics", "a,b", "flag --topic"); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := c.Write(&buf); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if !strings.Contains(buf.String(), "topics: [a, b] # flag --topic") {
		t.Errorf("output lacks the origin of kafka.topics:\n%s", buf.String())
	}
	back := Default()
	if err := back.LoadYAML("printed", buf.Bytes()); err != nil {
		t.Fatalf("reading the printed config: %v\n%s", err, buf.String())
	}
	if !equal(back, c) {
		t.Errorf("round trip changed the config:\n%s\nwant\n%s", dump(t, back), dump(t, c))
	}
}

// equal compares configs, ignoring where values came from.
func equal(a, b Config) bool {
	a.origin, b.origin = nil, nil
	var x, y bytes.Buffer
	a.Write(&x)
	b.Write(&y)
	return x.String() == y.String() && slices.Equal(a.Kafka.Brokers, b.Kafka.Brokers)
}

func dump(t *testing.T, c Config) string {
	t.Helper()
	var buf bytes.Buffer
	if err := c.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestValueAndIsList(t *testing.T) {
	c := Default()
	tests := []struct {
		key, want string
		list      bool
	}{
		{"kafka.brokers", "127.0.0.1:9092", true},
		{"kafka.group", "hookstream", false},
		{"commit_interval", "1s", false},
		{"max_event_bytes", "1048576", false},
		{"delivery.deny_private_networks", "false", false},
		{"kafka.tls.ca_file", "", false},
		{"kafka", "", false},
		{"nope", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			if got := c.Value(tt.key); got != tt.want {
				t.Errorf("Value = %q, want %q", got, tt.want)
			}
			if got := IsList(tt.key); got != tt.list {
				t.Errorf("IsList = %v, want %v", got, tt.list)
			}
		})
	}
	// Every setting's value survives Set(Value).
	for _, s := range Settings() {
		d := Default()
		if v := d.Value(s.Key); v != "" {
			if err := d.Set(s.Key, v, "test"); err != nil {
				t.Errorf("Set(%s, Value()): %v", s.Key, err)
			}
		}
	}
}

func TestOptionalSections(t *testing.T) {
	tests := []struct {
		name      string
		yaml      string
		tls, sasl bool
		ca        string
	}{
		{"absent", "http: 127.0.0.1:1\n", false, false, ""},
		{"empty tls turns TLS on", "kafka:\n  tls: {}\n", true, false, ""},
		{"null tls stays off", "kafka:\n  tls:\n", false, false, ""},
		{"tls with a CA", "kafka:\n  tls: {ca_file: ca.pem}\n", true, false, "ca.pem"},
		{"sasl", "kafka:\n  sasl: {mechanism: PLAIN, username: u, password_env: P}\n", false, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			if err := c.LoadYAML("f.yaml", []byte(tt.yaml)); err != nil {
				t.Fatalf("LoadYAML: %v", err)
			}
			if (c.Kafka.TLS != nil) != tt.tls || (c.Kafka.SASL != nil) != tt.sasl {
				t.Errorf("TLS %v, SASL %v; want %v, %v", c.Kafka.TLS != nil, c.Kafka.SASL != nil, tt.tls, tt.sasl)
			}
			if tt.ca != "" && c.Kafka.TLS.CAFile != tt.ca {
				t.Errorf("ca_file %q, want %q", c.Kafka.TLS.CAFile, tt.ca)
			}
		})
	}
	// An environment variable of an optional section turns it on too.
	c := Default()
	env := map[string]string{"HOOKSTREAM_TLS_SERVER_NAME": "kafka.internal"}
	if err := c.ApplyEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		t.Fatal(err)
	}
	if c.Kafka.TLS == nil || c.Kafka.TLS.ServerName != "kafka.internal" {
		t.Errorf("HOOKSTREAM_TLS_SERVER_NAME did not turn TLS on: %+v", c.Kafka.TLS)
	}
}
