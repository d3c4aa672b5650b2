package main

import (
	"regexp"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	r := hookstream(t, nil, "--version")
	if r.code != 0 || r.stdout != "hookstream dev\n" {
		t.Errorf("--version: exit %d, stdout %q; want 0, %q", r.code, r.stdout, "hookstream dev\n")
	}
}

func TestBadUsageExits2(t *testing.T) {
	badConfig := writeFile(t, "hookstream.yaml", "kafka:\n  brokers: [k:9092]\n  grup: workers\ncommit_interval: 10\n")
	saslConfig := writeFile(t, "sasl.yaml", "kafka:\n  sasl: {mechanism: SCRAM-SHA-512, username: u, password_env: TEST_KAFKA_PASSWORD}\n")
	tests := []struct {
		name string
		env  []string
		args []string
		want []string // each must appear on stderr
	}{
		{"no command", nil, nil, []string{"Usage:"}},
		{"unknown command", nil, []string{"frobnicate"}, []string{`unknown command "frobnicate"`}},
		{"unknown flag", nil, []string{"run", "--nope"}, []string{"flag provided but not defined: -nope"}},
		{"stray argument", nil, []string{"run", "--rules", "r.yaml", "extra"}, []string{`unexpected argument "extra"`}},
		{"missing config file", nil, []string{"run", "--config", "/nonexistent/hookstream.yaml"}, []string{"/nonexistent/hookstream.yaml"}},
		{"bad config file", nil, []string{"run", "--config", badConfig},
			[]string{badConfig + `:3: unknown key "grup" in kafka`, badConfig + ":4: commit_interval: want a duration"}},
		{"bad flag value", nil, []string{"run", "--rules", "r.yaml", "--commit-interval", "soon"},
			[]string{`commit_interval (flag --commit-interval): want a duration`}},
		{"bad env value", []string{"HOOKSTREAM_MAX_EVENT_BYTES=big"}, []string{"run", "--rules", "r.yaml"},
			[]string{`max_event_bytes (env HOOKSTREAM_MAX_EVENT_BYTES): want an integer`}},
		{"invalid value", nil, []string{"run", "--rules", "r.yaml", "--brokers", "nohostport"},
			[]string{`kafka.brokers (flag --brokers): "nohostport": want host:port`}},
		{"sasl password unset", nil, []string{"run", "--rules", "r.yaml", "--config", saslConfig},
			[]string{"environment variable TEST_KAFKA_PASSWORD is not set", saslConfig + ":2"}},
		{"missing rules file", nil, []string{"run", "--rules", "/nonexistent/rules.yaml"}, []string{"/nonexistent/rules.yaml"}},
		{"bad broker topic", nil, []string{"broker", "--topic", "bad name:3"}, []string{`--topic "bad name:3": want NAME:PARTITIONS`}},
		{"zero partitions", nil, []string{"broker", "--topic", "events:0"}, []string{"partitions must be 1..10000"}},
		{"rules without command", nil, []string{"rules"}, []string{"rules: missing command"}},
		{"rules unknown command", nil, []string{"rules", "check"}, []string{`rules: unknown command "check"`}},
		{"rules validate without file", nil, []string{"rules", "validate"}, []string{"-f FILE is required"}},
		{"rules test without event", nil, []string{"rules", "test", "-f", "r.yaml"}, []string{"--event EVENT.json are required"}},
		{"rules apply without file", nil, []string{"rules", "apply"}, []string{"rules apply: -f FILE is required"}},
		{"rules apply missing file", nil, []string{"rules", "apply", "-f", "/nonexistent/rules.yaml"}, []string{"/nonexistent/rules.yaml"}},
		{"rules list bad output", nil, []string{"rules", "list", "--output", "yaml"}, []string{`--output "yaml": want text or json`}},
		{"rules delete without id", nil, []string{"rules", "delete"}, []string{"rules delete: want the ID"}},
		{"lag bad output", nil, []string{"lag", "--output", "yaml"}, []string{`lag: --output "yaml": want text or json`}},
		{"bench bad flags", nil, []string{"bench", "--match", "2", "--events", "0"}, []string{"--match 2: want 0..1", "--events 0: want at least 1"}},
		{"dev bad rate", nil, []string{"dev", "--rate", "0"}, []string{"--rate 0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := hookstream(t, tt.env, tt.args...)
			if r.code != 2 {
				t.Errorf("exit code %d, want 2\nstderr: %s", r.code, r.stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr does not mention %q:\n%s", w, r.stderr)
				}
			}
		})
	}
}

func TestHelpExits0(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"run", "--help"}, {"broker", "-h"}, {"rules", "--help"}} {
		r := hookstream(t, nil, args...)
		if r.code != 0 {
			t.Errorf("hookstream %s: exit %d, want 0\nstderr: %s", strings.Join(args, " "), r.code, r.stderr)
		}
		if !strings.Contains(r.stdout+r.stderr, "Usage") {
			t.Errorf("hookstream %s printed no usage", strings.Join(args, " "))
		}
	}
}

func TestRunHelpShowsEnvAndDefaults(t *testing.T) {
	r := hookstream(t, nil, "run", "--help")
	for _, w := range []string{"-brokers", "HOOKSTREAM_BROKERS", "default 127.0.0.1:9092", "-topic", "-group", "-rules-topic", "-dlq-topic", "-rules", "-http", "-config"} {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("run --help does not mention %q:\n%s", w, r.stderr)
		}
	}
}

func TestConfigPrecedence(t *testing.T) {
	file := writeFile(t, "hookstream.yaml", `kafka:
  group: file-group
  topics: [file-topic]
http: 127.0.0.1:2222
commit_interval: 250ms
`)
	env := []string{
		"HOOKSTREAM_BROKERS=env-broker:9092",
		"HOOKSTREAM_GROUP=env-group",
		"HOOKSTREAM_HTTP=127.0.0.1:1111",
		"HOOKSTREAM_CONFIG=" + file,
	}
	r := hookstream(t, env, "run", "--print-config", "--http", "127.0.0.1:3333", "--topic", "a", "--topic", "b,c")
	if r.code != 0 {
		t.Fatalf("run --print-config: exit %d\n%s", r.code, r.stderr)
	}
	tests := []struct {
		name string
		line string // regexp for one line of output
	}{
		{"flag over file over env", `^http: 127\.0\.0\.1:3333 # flag --http$`},
		{"repeated flags add up", `^  topics: \[a, b, c\] # flag --topic$`},
		{"file over env", `^  group: file-group # ` + regexp.QuoteMeta(file) + `:2$`},
		{"file over default", `^commit_interval: 250ms # ` + regexp.QuoteMeta(file) + `:5$`},
		{"env over default", `^  brokers: \['?env-broker:9092'?\] # env HOOKSTREAM_BROKERS$`},
		{"default", `^shutdown_timeout: 30s # default$`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !regexp.MustCompile(`(?m)` + tt.line).MatchString(r.stdout) {
				t.Errorf("no line matching %s in:\n%s", tt.line, r.stdout)
			}
		})
	}
}
