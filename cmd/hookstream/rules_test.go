package main

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"strings"
	"testing"
)

func TestRulesValidate(t *testing.T) {
	valid := writeFile(t, "good.yaml", `actions:
- id: signups
  trigger: type == "track" && event == "Signed Up"
  url: https://crm.example.com/hooks/{{ userId }}
  batch: {size: 100}
- id: identify
  trigger: type == "identify"
  url: https://crm.example.com/people
  payload: {email: traits.email}
`)
	invalid := writeFile(t, "bad.yaml", `actions:
- id: too-big
  trigger: type == "track"
  url: https://x.example.com/
  batch:
    size: 5000
- id: bad-method
  trigger: type == "track"
  url: https://x.example.com/
  method: FETCH
- id: no-url
  trigger: type == "track"
  colour: blue
`)
	tests := []struct {
		name     string
		file     string
		code     int
		stdout   []string
		stderr   []string
		noStderr bool
	}{
		{"valid", valid, 0, []string{"good.yaml: 2 actions valid", "signups", "identify"}, nil, true},
		{"invalid", invalid, 2, nil, []string{
			`bad.yaml:6: action "too-big": batch.size`,
			`bad.yaml:10: action "bad-method": method`,
			`action "no-url": url`,
			`bad.yaml:13: action "no-url": colour`,
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := hookstream(t, nil, "rules", "validate", "-f", tt.file)
			if r.code != tt.code {
				t.Errorf("exit code %d, want %d\nstdout: %s\nstderr: %s", r.code, tt.code, r.stdout, r.stderr)
			}
			for _, w := range tt.stdout {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout does not mention %q:\n%s", w, r.stdout)
				}
			}
			for _, w := range tt.stderr {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr does not mention %q:\n%s", w, r.stderr)
				}
			}
			if tt.noStderr && r.stderr != "" {
				t.Errorf("unexpected stderr: %s", r.stderr)
			}
		})
	}
}

func TestRulesTestShowsTheRequest(t *testing.T) {
	const secret, token = "s3cret-for-test", "tok-do-not-print"
	env := []string{"DEV_WEBHOOK_SECRET=" + secret, "DEV_CRM_TOKEN=" + token}
	r := hookstream(t, env, "rules", "test", "-f", "../../examples/rules.yaml", "--event", "../../examples/event.json")
	if r.code != 0 {
		t.Fatalf("exit code %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	for _, w := range []string{
		"- identify-to-crm: matches",
		"PUT https://crm.example.com/api/contacts\n",
		"Authorization: Bearer ***\n",
		"User-Agent: hookstream/dev\n",
		"- track-to-warehouse: no match",
		"- pageviews-by-user: no match",
		"1 of 3 actions match",
	} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("output does not contain %q:\n%s", w, r.stdout)
		}
	}
	if strings.Contains(r.stdout, token) || strings.Contains(r.stdout, secret) {
		t.Errorf("output shows a secret from the environment:\n%s", r.stdout)
	}

	// The signature shown is the HMAC-SHA1 of the body shown.
	var sig, body string
	lines := strings.Split(r.stdout, "\n")
	for i, l := range lines {
		if v, ok := strings.CutPrefix(l, "X-Signature: "); ok && i+2 < len(lines) {
			sig, body = v, lines[i+2]
		}
	}
	if sig == "" {
		t.Fatalf("no X-Signature in:\n%s", r.stdout)
	}
	m := hmac.New(sha1.New, []byte(secret))
	m.Write([]byte(body))
	if want := hex.EncodeToString(m.Sum(nil)); sig != want {
		t.Errorf("X-Signature %s, want %s for body %s", sig, want, body)
	}
	if !strings.Contains(body, `"email":"ada@example.com"`) {
		t.Errorf("body is not the mapped payload: %s", body)
	}
}
