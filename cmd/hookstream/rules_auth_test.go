package main

import (
	"strings"
	"testing"
)

// TestRulesAuthAndTLS: validate and test take a file whose tls files and
// secrets live on the workers, say what run will need, and never show a
// secret; a tls file that is here but wrong is refused on its line.
func TestRulesAuthAndTLS(t *testing.T) {
	const password, clientSecret = "pw-never-shown-41", "cs-never-shown-42"
	file := writeFile(t, "rules.yaml", `actions:
- id: basic
  trigger: type == "identify"
  url: https://crm.example.com/people
  rate_limit: {requests_per_second: 20}
  auth:
    basic: {username: svc-hooks, password_env: CRM_PASSWORD}
- id: partner
  trigger: type == "identify"
  url: https://partner.example.com/in
  auth:
    oauth2:
      token_url: https://auth.partner.example.com/token
      client_id: hookstream
      client_secret_env: PARTNER_SECRET
  tls:
    ca_file: /etc/hookstream/partner-ca.pem
    cert_file: /etc/hookstream/client.pem
    key_file: /etc/hookstream/client-key.pem
`)
	r := hookstream(t, nil, "rules", "validate", "-f", file)
	if r.code != 0 {
		t.Fatalf("validate: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, w := range []string{
		"note: not set here, and needed by run: CRM_PASSWORD, PARTNER_SECRET",
		"note: not found here, and read by run (tls): /etc/hookstream/client-key.pem, /etc/hookstream/client.pem, /etc/hookstream/partner-ca.pem",
	} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("validate does not say %q:\n%s", w, r.stdout)
		}
	}

	event := writeFile(t, "event.json", `{"type":"identify","userId":"u1"}`)
	r = hookstream(t, []string{"CRM_PASSWORD=" + password, "PARTNER_SECRET=" + clientSecret}, "rules", "test", "-f", file, "--event", event)
	if r.code != 0 {
		t.Fatalf("test: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, w := range []string{
		"Authorization: Basic *** (svc-hooks, the password from CRM_PASSWORD)\n",
		"Authorization: Bearer *** (a token for client hookstream from https://auth.partner.example.com/token)\n",
		"rate limit: 20/s burst 20 for the whole group\n",
		"tls: ca /etc/hookstream/partner-ca.pem, cert /etc/hookstream/client.pem\n",
	} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("test does not show %q:\n%s", w, r.stdout)
		}
	}
	if strings.Contains(r.stdout+r.stderr, password) || strings.Contains(r.stdout+r.stderr, clientSecret) {
		t.Errorf("test shows a secret:\n%s%s", r.stdout, r.stderr)
	}

	garbage := writeFile(t, "ca.pem", "not a certificate\n")
	bad := writeFile(t, "bad.yaml", `actions:
- id: partner
  trigger: type == "identify"
  url: https://partner.example.com/in
  tls:
    ca_file: `+garbage+"\n")
	r = hookstream(t, nil, "rules", "validate", "-f", bad)
	if want := `bad.yaml:6: action "partner": tls.ca_file "` + garbage + `": no PEM certificate`; r.code != 2 || !strings.Contains(r.stderr, want) {
		t.Errorf("validate a bad ca_file: exit %d, want 2 and %q:\n%s", r.code, want, r.stderr)
	}
}
