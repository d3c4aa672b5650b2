package rules

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// envOf returns a Getenv over m.
func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// valid returns an action that compiles; tests change one thing.
func valid() Action {
	return Action{ID: "a", Trigger: `type == "track"`, URL: "https://hooks.example.com/in"}
}

func TestCompileDefaults(t *testing.T) {
	a := valid()
	a.Batch = &Batch{}
	c, err := Compile(a, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := Action{
		ID: "a", Trigger: a.Trigger, URL: a.URL,
		Method:      "POST",
		Batch:       &Batch{Size: 1000, Wait: Duration(time.Second)},
		Timeout:     Duration(10 * time.Second),
		MaxInFlight: 1,
		Retry: Retry{
			MaxDuration:    Duration(time.Hour),
			InitialBackoff: Duration(250 * time.Millisecond),
			MaxBackoff:     Duration(30 * time.Second),
			ParkAfter:      Duration(30 * time.Second),
		},
		Breaker:   Breaker{Failures: 5, OpenFor: Duration(10 * time.Second)},
		Signature: "x-signature",
	}
	got := c.Action
	if got.Enabled == nil || !*got.Enabled {
		t.Errorf("enabled = %v, want true", got.Enabled)
	}
	got.Enabled = nil
	if *got.Batch != *want.Batch {
		t.Errorf("batch = %+v, want %+v", *got.Batch, *want.Batch)
	}
	got.Batch, want.Batch = nil, nil
	if got.Method != want.Method || got.Timeout != want.Timeout || got.MaxInFlight != want.MaxInFlight ||
		got.Retry != want.Retry || got.Breaker != want.Breaker || got.Signature != want.Signature {
		t.Errorf("defaults:\n got %+v\nwant %+v", got, want)
	}
	if a.Batch.Size != 0 {
		t.Error("Compile changed the caller's Batch")
	}
	if !c.Batched() || c.Templated() || c.Mapped() || c.Secrets != nil {
		t.Errorf("Batched %v Templated %v Mapped %v Secrets %v", c.Batched(), c.Templated(), c.Mapped(), c.Secrets)
	}
}

func TestCompileUnbatchedStaysNil(t *testing.T) {
	c, err := Compile(valid(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Batch != nil || c.Batched() {
		t.Errorf("batch = %+v, want nil", c.Batch)
	}
}

func TestCompileKeepsSettings(t *testing.T) {
	a := valid()
	a.Method = "put"
	a.MaxInFlight = 4
	a.Breaker.Failures = 2
	off := false
	a.Enabled = &off
	c, err := Compile(a, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Method != "PUT" || c.MaxInFlight != 4 || c.Breaker.Failures != 2 || *c.Enabled {
		t.Errorf("settings not kept: %+v", c.Action)
	}
}

func TestCompileProblems(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Action)
		want   []string
	}{
		{"id missing", func(a *Action) { a.ID = "" }, []string{`action: id: required`}},
		{"id charset", func(a *Action) { a.ID = "sign ups" }, []string{`id "sign ups": want 1 to 128 of A-Z a-z 0-9 . _ -`}},
		{"id too long", func(a *Action) { a.ID = strings.Repeat("a", 129) }, []string{`id "aaaa`, `want 1 to 128`}},
		{"trigger missing", func(a *Action) { a.Trigger = "" }, []string{`trigger: required`}},
		{"trigger syntax", func(a *Action) { a.Trigger = `type == ` }, []string{`trigger: unexpected token EOF (column 8)`}},
		{"trigger not bool", func(a *Action) { a.Trigger = `event` }, []string{`trigger: expected bool, but got string`}},
		{"trigger type mismatch", func(a *Action) { a.Trigger = `type == 1` }, []string{`trigger: invalid operation: == (mismatched types string and int) (column 6)`}},
		{"trigger unknown name", func(a *Action) { a.Trigger = `plan == "pro"` }, []string{`trigger: unknown name plan (column 1)`}},
		{"url missing", func(a *Action) { a.URL = "" }, []string{`url: required`}},
		{"url scheme", func(a *Action) { a.URL = "ftp://x.example.com/" }, []string{`url: want an http or https URL`}},
		{"url relative", func(a *Action) { a.URL = "/hooks" }, []string{`url: want an http or https URL`}},
		{"url without host", func(a *Action) { a.URL = "https:///x" }, []string{`url: want a host`}},
		{"url credentials", func(a *Action) { a.URL = "https://u:p@x.example.com/" }, []string{`url: credentials in the URL are not allowed`}},
		{"url template in host", func(a *Action) { a.URL = "https://{{ userId }}.example.com/" }, []string{`url: {{ }} is allowed in the path and query, not in the host`}},
		{"url template unclosed", func(a *Action) { a.URL = "https://x.example.com/{{ userId" }, []string{`url: unclosed "{{"`}},
		{"url template bad expr", func(a *Action) { a.URL = "https://x.example.com/{{ userId + }}" }, []string{`url: {{ userId + }}: unexpected token EOF`}},
		{"url template map", func(a *Action) { a.URL = "https://x.example.com/{{ traits }}" }, []string{`url: {{ traits }}: want a string, number or boolean`}},
		{"method", func(a *Action) { a.Method = "GET" }, []string{`method "GET": want POST, PUT, PATCH or DELETE`}},
		{"header name", func(a *Action) { a.Headers = map[string]string{"X Team": "a"} }, []string{`headers.X Team: want a header name`}},
		{"header value CRLF", func(a *Action) { a.Headers = map[string]string{"X-Team": "a\r\nEvil: 1"} }, []string{`headers.X-Team: value contains a control character`}},
		{"header reserved", func(a *Action) { a.Headers = map[string]string{"x-signature": "forged"} }, []string{`headers.x-signature: set by hookstream`}},
		{"header twice", func(a *Action) { a.Headers = map[string]string{"X-Team": "a", "x-team": "b"} }, []string{`headers.x-team: same header as X-Team`}},
		{"header env missing", func(a *Action) { a.Headers = map[string]string{"Authorization": "Bearer ${env:NO_TOKEN}"} }, []string{`headers.Authorization: environment variable NO_TOKEN is not set or empty`}},
		{"header env unclosed", func(a *Action) { a.Headers = map[string]string{"Authorization": "Bearer ${env:TOKEN"} }, []string{`headers.Authorization: unclosed "${env:"`}},
		{"header env bad name", func(a *Action) { a.Headers = map[string]string{"Authorization": "${env:A-B}"} }, []string{`headers.Authorization: ${env:A-B}: want an environment variable name`}},
		{"secret env missing", func(a *Action) { a.SecretEnv = "NO_SECRET" }, []string{`secret_env NO_SECRET: environment variable NO_SECRET is not set or empty`}},
		{"secret env bad name", func(a *Action) { a.SecretEnv = "1SECRET" }, []string{`secret_env "1SECRET": want an environment variable name`}},
		{"signature", func(a *Action) { a.Signature = "hmac" }, []string{`signature "hmac": want x-signature or standard`}},
		{"standard without secret", func(a *Action) { a.Signature = "standard" }, []string{`signature "standard": needs secret_env`}},
		{"batch size high", func(a *Action) { a.Batch = &Batch{Size: 5000} }, []string{`action "a": batch.size 5000: want 1..1000`}},
		{"batch size negative", func(a *Action) { a.Batch = &Batch{Size: -1} }, []string{`batch.size -1: want 1..1000`}},
		{"batch max_bytes", func(a *Action) { a.Batch = &Batch{MaxBytes: -5} }, []string{`batch.max_bytes -5: want 0 (no cap) or more`}},
		{"batch wait negative", func(a *Action) { a.Batch = &Batch{Wait: Duration(-time.Second)} }, []string{`batch.wait -1s: want a positive duration`}},
		{"max_in_flight", func(a *Action) { a.MaxInFlight = 65 }, []string{`max_in_flight 65: want 1..64`}},
		{"backoffs crossed", func(a *Action) { a.Retry.InitialBackoff = Duration(time.Minute) }, []string{`retry.initial_backoff 1m0s: want at most retry.max_backoff (30s)`}},
		{"breaker failures", func(a *Action) { a.Breaker.Failures = -1 }, []string{`breaker.failures -1: want 1 or more`}},
		{"payload empty", func(a *Action) { a.Payload = map[string]any{} }, []string{`payload: empty mapping`}},
		{"payload bad leaf", func(a *Action) { a.Payload = map[string]any{"user": map[string]any{"email": "traits.email +"}} }, []string{`payload.user.email: unexpected token EOF`}},
		{"payload leaf type", func(a *Action) { a.Payload = map[string]any{"x": []any{"a"}} }, []string{`payload.x: want an expression or a mapping, got []interface {}`}},
		{"everything at once", func(a *Action) {
			a.Trigger = "1"
			a.URL = "nope"
			a.Batch = &Batch{Size: 1001}
			a.Method = "GET"
		}, []string{`trigger: expected bool`, `url: want an http or https URL`, `batch.size 1001`, `method "GET"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := valid()
			tt.change(&a)
			c, err := Compile(a, Options{Getenv: envOf(map[string]string{"TOKEN": "t"})})
			if err == nil {
				t.Fatalf("Compile accepted %+v", a)
			}
			if c != nil {
				t.Error("Compile returned an action with its error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%s\ndoes not contain\n%s", err, w)
				}
			}
			if n := len(FieldErrors(err)); n != len(tt.want) && tt.name != "id too long" {
				t.Errorf("%d problems reported, want %d: %v", n, len(tt.want), err)
			}
		})
	}
}

func TestCompileResolvesEnvironment(t *testing.T) {
	a := valid()
	a.Headers = map[string]string{"Authorization": "Bearer ${env:CRM_TOKEN}", "X-Pair": "${env:A}:${env:B}", "X-Plain": "v"}
	a.SecretEnv = "CRM_SECRET"
	env := map[string]string{"CRM_TOKEN": "tok-123", "A": "1", "B": "2", "CRM_SECRET": "  first second "}
	c, err := Compile(a, Options{Getenv: envOf(env)})
	if err != nil {
		t.Fatal(err)
	}
	want := [][2]string{{"Authorization", "Bearer tok-123"}, {"X-Pair", "1:2"}, {"X-Plain", "v"}}
	if !slices.Equal(c.Header, want) {
		t.Errorf("headers = %q, want %q", c.Header, want)
	}
	if len(c.Secrets) != 2 || string(c.Secrets[0]) != "first" || string(c.Secrets[1]) != "second" {
		t.Errorf("secrets = %q", c.Secrets)
	}
	if c.Headers["Authorization"] != "Bearer ${env:CRM_TOKEN}" {
		t.Errorf("the action keeps the header as written, got %q", c.Headers["Authorization"])
	}
}

func TestCompileNeverPrintsSecrets(t *testing.T) {
	const secret = "s3cr3t-value"
	tests := []struct {
		name string
		a    func(*Action)
		env  map[string]string
	}{
		{"secret missing, other set", func(a *Action) {
			a.SecretEnv = "MISSING"
			a.Headers = map[string]string{"Authorization": "${env:TOKEN}"}
		}, map[string]string{"TOKEN": secret}},
		{"token with a newline", func(a *Action) { a.Headers = map[string]string{"Authorization": "Bearer ${env:TOKEN}"} }, map[string]string{"TOKEN": secret + "\n"}},
		{"whsec not base64", func(a *Action) { a.Signature = "standard"; a.SecretEnv = "S" }, map[string]string{"S": "whsec_" + secret + "!!"}},
		{"header with control byte", func(a *Action) { a.Headers = map[string]string{"Authorization": secret + "\x00"} }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := valid()
			tt.a(&a)
			_, err := Compile(a, Options{Getenv: envOf(tt.env)})
			if err == nil {
				t.Fatal("Compile accepted the action")
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error shows the secret: %v", err)
			}
		})
	}
}

func TestCompileAllDuplicateIDs(t *testing.T) {
	a, b := valid(), valid()
	_, err := CompileAll([]Action{a, b}, Options{})
	if err == nil || !strings.Contains(err.Error(), `action "a": id: duplicate id, also at action #1`) {
		t.Errorf("CompileAll = %v, want a duplicate id error", err)
	}
}

func TestCompileAllReportsEveryAction(t *testing.T) {
	a, b, c := valid(), valid(), valid()
	a.ID, b.ID, c.ID = "one", "", "three"
	a.Trigger = "nope("
	c.URL = "mailto:x"
	_, err := CompileAll([]Action{a, b, c}, Options{})
	for _, w := range []string{`action "one": trigger`, `action #2: id: required`, `action "three": url`} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v does not contain %q", err, w)
		}
	}
}

func TestLoadYAMLLines(t *testing.T) {
	const file = `actions:
- id: signups
  trigger: type == "track"
  url: https://crm.example.com/hooks
  payload:
    user:
      email: traits.email +
  batch:
    size: 5000
- id: signups
  trigger: type == "track"
  url: https://crm.example.com/{{ traits }}
  headers:
    Authorization: Bearer ${env:CRM_TOKEN}
`
	_, err := LoadYAML([]byte(file), "rules.yaml", Options{})
	want := []string{
		`rules.yaml:7: action "signups": payload.user.email: unexpected token EOF (column 14)`,
		`rules.yaml:9: action "signups": batch.size 5000: want 1..1000`,
		`rules.yaml:10: action "signups": id: duplicate id, also at line 2`,
		`rules.yaml:12: action "signups": url: {{ traits }}: want a string, number or boolean`,
		`rules.yaml:14: action "signups": headers.Authorization: environment variable CRM_TOKEN is not set or empty`,
	}
	if err == nil {
		t.Fatal("LoadYAML accepted the file")
	}
	if got := strings.Split(err.Error(), "\n"); !slices.EqualFunc(got, want, strings.HasPrefix) {
		t.Errorf("errors:\n%s\nwant:\n%s", err, strings.Join(want, "\n"))
	}
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Line != 7 || fe.Field != "payload.user.email" || fe.Action != "signups" {
		t.Errorf("first FieldError = %+v", fe)
	}
}

func TestLoadFile(t *testing.T) {
	env := envOf(map[string]string{"CRM_TOKEN": "t", "CRM_WEBHOOK_SECRET": "s", "ANALYTICS_SECRETS": "whsec_c2VjcmV0", "PARTNER_CLIENT_SECRET": "p"})
	set, err := LoadFile("testdata/rules.yaml", Options{Getenv: env})
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(set.Actions))
	for i, c := range set.Actions {
		ids[i] = c.ID
	}
	want := []string{"identify-enterprise", "orders-to-warehouse", "page-views-analytics", "signups-to-crm"}
	if !slices.Equal(ids, want) {
		t.Errorf("ids = %v, want %v (sorted)", ids, want)
	}
	if set.Enabled() != 3 {
		t.Errorf("enabled = %d, want 3", set.Enabled())
	}
	if p := set.Actions[0]; p.RateLimit.Burst != 3 || string(p.ClientSecret) != "p" || p.TLSConfig == nil || len(p.TLSConfig.Certificates) != 1 {
		t.Errorf("identify-enterprise: rate_limit %+v, client secret set %v, tls %v", p.RateLimit, p.ClientSecret != "", p.TLSConfig)
	}

	_, err = LoadFile(filepath.Join(t.TempDir(), "missing.yaml"), Options{})
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	_, err = LoadFile("testdata/rules.yaml", Options{})
	if err == nil || !strings.Contains(err.Error(), "rules.yaml:16: action \"signups-to-crm\": headers.Authorization: environment variable CRM_TOKEN is not set or empty") {
		t.Errorf("LoadFile without environment = %v", err)
	}
}
