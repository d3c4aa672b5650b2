package rules

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
)

func TestAuthCompiles(t *testing.T) {
	const file = `actions:
- id: basic
  trigger: type == "track"
  url: https://x.example.com/
  auth:
    basic: {username: svc-hooks, password_env: CRM_PASSWORD}
- id: oauth
  trigger: type == "track"
  url: https://x.example.com/
  auth:
    oauth2:
      token_url: https://auth.example.com/oauth/token
      client_id: hookstream
      client_secret_env: CRM_CLIENT_SECRET
      scopes: [events.write, events.read]
      params: {audience: https://crm.example.com}
`
	env := envOf(map[string]string{"CRM_PASSWORD": "pw-1", "CRM_CLIENT_SECRET": "cs-2"})
	set, err := LoadYAML([]byte(file), "rules.yaml", Options{Getenv: env})
	if err != nil {
		t.Fatal(err)
	}
	basic, oauth := set.Actions[0], set.Actions[1]
	if basic.Auth.Basic.Username != "svc-hooks" || string(basic.Password) != "pw-1" || basic.ClientSecret != "" {
		t.Errorf("basic: %+v, password set %v", basic.Auth.Basic, basic.Password != "")
	}
	o := oauth.Auth.OAuth2
	if o.TokenURL != "https://auth.example.com/oauth/token" || o.ClientID != "hookstream" || string(oauth.ClientSecret) != "cs-2" ||
		!slices.Equal(o.Scopes, []string{"events.write", "events.read"}) || o.Params["audience"] != "https://crm.example.com" {
		t.Errorf("oauth2: %+v", o)
	}
	// The compiled action prints, logs and encodes without its secrets.
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("action", "a", oauth, "secret", oauth.ClientSecret, "basic", basic)
	for _, out := range []string{fmt.Sprintf("%v %+v %#v %s", basic, oauth, basic.Password, oauth.ClientSecret), logged.String()} {
		if strings.Contains(out, "pw-1") || strings.Contains(out, "cs-2") {
			t.Errorf("a secret shows: %s", out)
		}
	}
}

func TestAuthJSONRoundTrip(t *testing.T) {
	const rec = `{"id":"a","trigger":"type == \"track\"","url":"https://x.example.com/","auth":{"oauth2":{"token_url":"https://auth.example.com/t","client_id":"c","client_secret_env":"S","scopes":["a"],"params":{"audience":"x"}}}}`
	a, err := ParseJSON([]byte(rec))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Compile(a, Options{Getenv: envOf(map[string]string{"S": "secret"})})
	if err != nil {
		t.Fatal(err)
	}
	if c.Auth.OAuth2.Params["audience"] != "x" || string(c.ClientSecret) != "secret" {
		t.Errorf("compiled %+v", c.Auth.OAuth2)
	}
	a.Auth.OAuth2.Params["audience"] = "changed"
	if c.Auth.OAuth2.Params["audience"] != "x" {
		t.Error("the compiled action shares params with the caller's")
	}
}

func TestAuthProblems(t *testing.T) {
	env := envOf(map[string]string{"SET": "v", "BAD": "v\n"})
	tests := []struct {
		name string
		auth string
		want []string
	}{
		{"empty", `auth: {}`, []string{`auth: want basic or oauth2`}},
		{"both", `auth: {basic: {username: u, password_env: SET}, oauth2: {token_url: "https://a.example.com/t", client_id: c, client_secret_env: SET}}`,
			[]string{`auth: want one of basic and oauth2, not both`}},
		{"unknown", `auth: {digest: {}}`, []string{`auth.digest: unknown field`, `auth: want basic or oauth2`}},
		{"basic missing", `auth: {basic: {}}`, []string{`auth.basic.username: required`, `auth.basic.password_env: required`}},
		{"basic colon", `auth: {basic: {username: "a:b", password_env: SET}}`, []string{`auth.basic.username: may not contain a colon`}},
		{"basic unset", `auth: {basic: {username: u, password_env: NOPE}}`, []string{`auth.basic.password_env NOPE: environment variable NOPE is not set or empty`}},
		{"basic bad name", `auth: {basic: {username: u, password_env: "1X"}}`, []string{`auth.basic.password_env "1X": want an environment variable name`}},
		{"basic control", `auth: {basic: {username: u, password_env: BAD}}`, []string{`auth.basic.password_env BAD: environment variable BAD contains a control character`}},
		{"oauth2 missing", `auth: {oauth2: {}}`, []string{`auth.oauth2.token_url: required`, `auth.oauth2.client_id: required`, `auth.oauth2.client_secret_env: required`}},
		{"oauth2 url", `auth: {oauth2: {token_url: "ftp://a/t", client_id: c, client_secret_env: SET}}`, []string{`auth.oauth2.token_url: want an http or https URL`}},
		{"oauth2 url creds", `auth: {oauth2: {token_url: "https://u:p@a.example.com/t", client_id: c, client_secret_env: SET}}`, []string{`auth.oauth2.token_url: credentials in the URL are not allowed`}},
		{"oauth2 scope", `auth: {oauth2: {token_url: "https://a.example.com/t", client_id: c, client_secret_env: SET, scopes: ["a b"]}}`, []string{`auth.oauth2.scopes "a b": scope 1: want a word`}},
		{"oauth2 scopes type", `auth: {oauth2: {token_url: "https://a.example.com/t", client_id: c, client_secret_env: SET, scopes: a}}`, []string{`auth.oauth2.scopes: want a list of strings, got the string "a"`}},
		{"oauth2 reserved param", `auth: {oauth2: {token_url: "https://a.example.com/t", client_id: c, client_secret_env: SET, params: {grant_type: password}}}`, []string{`auth.oauth2.params.grant_type: set by the client credentials grant`}},
		{"header too", `auth: {basic: {username: u, password_env: SET}}
  headers: {authorization: "Bearer x"}`, []string{`headers.authorization: set by auth, not by a header`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := "actions:\n- id: a\n  trigger: type == \"track\"\n  url: https://x.example.com/\n  " + tt.auth + "\n"
			_, err := LoadYAML([]byte(file), "rules.yaml", Options{Getenv: env})
			if err == nil {
				t.Fatal("LoadYAML accepted the action")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), `rules.yaml:5: action "a": `+w) && !strings.Contains(err.Error(), `rules.yaml:6: action "a": `+w) {
					t.Errorf("errors:\n%s\nlack (on line 5 or 6):\n%s", err, w)
				}
			}
			if n := len(FieldErrors(err)); n != len(tt.want) {
				t.Errorf("%d problems, want %d:\n%s", n, len(tt.want), err)
			}
			if strings.Contains(err.Error(), "v\n") {
				t.Errorf("a secret's value shows: %v", err)
			}
		})
	}
}
