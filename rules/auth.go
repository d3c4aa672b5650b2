package rules

import (
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Auth is how an action proves itself to its endpoint: at most one of Basic
// and OAuth2. Secrets are only ever named (the *_env fields); Compile reads
// them from the environment.
type Auth struct {
	Basic  *BasicAuth `json:"basic,omitempty" yaml:"basic,omitempty"`
	OAuth2 *OAuth2    `json:"oauth2,omitempty" yaml:"oauth2,omitempty"`
}

// BasicAuth sends Authorization: Basic with the username and the password
// held by the environment variable PasswordEnv.
type BasicAuth struct {
	Username    string `json:"username" yaml:"username"`
	PasswordEnv string `json:"password_env" yaml:"password_env"`
}

// OAuth2 fetches an access token with the client credentials grant (RFC 6749
// §4.4) and sends it as Authorization: Bearer.
type OAuth2 struct {
	TokenURL        string            `json:"token_url" yaml:"token_url"`
	ClientID        string            `json:"client_id" yaml:"client_id"`
	ClientSecretEnv string            `json:"client_secret_env" yaml:"client_secret_env"`
	Scopes          []string          `json:"scopes,omitempty" yaml:"scopes,omitempty"`
	Params          map[string]string `json:"params,omitempty" yaml:"params,omitempty"` // extra form fields of the token request
}

// reservedParams are the token request's own form fields, which params may
// not replace.
var reservedParams = []string{"grant_type", "client_id", "client_secret", "scope"}

// clone returns a deep copy of a.
func (a *Auth) clone() *Auth {
	if a == nil {
		return nil
	}
	c := &Auth{}
	if a.Basic != nil {
		b := *a.Basic
		c.Basic = &b
	}
	if a.OAuth2 != nil {
		o := *a.OAuth2
		o.Scopes = slices.Clone(o.Scopes)
		o.Params = maps.Clone(o.Params)
		c.OAuth2 = &o
	}
	return c
}

// checkAuth checks a's auth and reads its secret from the environment.
// Messages name the variable, never its value.
func checkAuth(a *Action, opt Options, add func(field, value, msg string)) (password, clientSecret Secret) {
	au := a.Auth
	if au == nil {
		return "", ""
	}
	for name := range a.Headers {
		if strings.EqualFold(name, "Authorization") {
			add("headers."+name, "", "set by auth, not by a header")
		}
	}
	switch {
	case au.Basic == nil && au.OAuth2 == nil:
		add("auth", "", "want basic or oauth2")
	case au.Basic != nil && au.OAuth2 != nil:
		add("auth", "", "want one of basic and oauth2, not both")
	case au.Basic != nil:
		b := au.Basic
		switch {
		case b.Username == "":
			add("auth.basic.username", "", "required")
		case strings.Contains(b.Username, ":"):
			add("auth.basic.username", "", "may not contain a colon (RFC 7617)")
		case hasControl(b.Username):
			add("auth.basic.username", "", "contains a control character")
		}
		password = envSecret("auth.basic.password_env", b.PasswordEnv, opt, add)
	default:
		o := au.OAuth2
		checkTokenURL(o.TokenURL, add)
		switch {
		case o.ClientID == "":
			add("auth.oauth2.client_id", "", "required")
		case hasControl(o.ClientID):
			add("auth.oauth2.client_id", "", "contains a control character")
		}
		clientSecret = envSecret("auth.oauth2.client_secret_env", o.ClientSecretEnv, opt, add)
		for i, s := range o.Scopes {
			if s == "" || strings.ContainsAny(s, " \t\"\\") || hasControl(s) {
				add("auth.oauth2.scopes", quoted(s), "scope "+strconv.Itoa(i+1)+": want a word without spaces, quotes or backslashes")
			}
		}
		for _, k := range slices.Sorted(maps.Keys(o.Params)) {
			if slices.Contains(reservedParams, strings.ToLower(k)) {
				add("auth.oauth2.params."+k, "", "set by the client credentials grant, not by params")
			}
		}
	}
	return password, clientSecret
}

// envSecret reads the secret named by an *_env field.
func envSecret(field, name string, opt Options, add func(field, value, msg string)) Secret {
	switch v := opt.getenv(name); {
	case name == "":
		add(field, "", "required")
	case !validEnvName(name):
		add(field, quoted(name), "want an environment variable name")
	case v == "":
		add(field, name, "environment variable "+name+" is not set or empty")
	case hasControl(v):
		add(field, name, "environment variable "+name+" contains a control character")
	default:
		return Secret(v)
	}
	return ""
}

// checkTokenURL checks the OAuth2 token endpoint: http or https, a host, no
// credentials (they go in client_secret_env).
func checkTokenURL(raw string, add func(field, value, msg string)) {
	const field = "auth.oauth2.token_url"
	if raw == "" {
		add(field, "", "required")
		return
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Scheme != "http" && u.Scheme != "https":
		add(field, "", "want an http or https URL")
	case u.Host == "":
		add(field, "", "want a host")
	case u.User != nil:
		add(field, "", "credentials in the URL are not allowed (use client_id and client_secret_env)")
	}
}

func (d *nodeDecoder) auth(n *yaml.Node) *Auth {
	ps, ok := d.mapping(n, "auth")
	if !ok {
		return nil
	}
	au := &Auth{}
	for _, p := range ps {
		field := "auth." + p.key
		d.pos[field] = p.knode.Line
		v := resolve(p.val)
		switch p.key {
		case "basic":
			au.Basic = d.basicAuth(v, field)
		case "oauth2":
			au.OAuth2 = d.oauth2(v, field)
		default:
			d.fail(p.knode, field, "unknown field")
		}
	}
	return au
}

func (d *nodeDecoder) basicAuth(n *yaml.Node, field string) *BasicAuth {
	ps, ok := d.mapping(n, field)
	if !ok {
		return nil
	}
	b := &BasicAuth{}
	for _, p := range ps {
		f := field + "." + p.key
		d.pos[f] = p.knode.Line
		v := resolve(p.val)
		switch p.key {
		case "username":
			b.Username = d.str(v, f)
		case "password_env":
			b.PasswordEnv = d.str(v, f)
		default:
			d.fail(p.knode, f, "unknown field")
		}
	}
	return b
}

func (d *nodeDecoder) oauth2(n *yaml.Node, field string) *OAuth2 {
	ps, ok := d.mapping(n, field)
	if !ok {
		return nil
	}
	o := &OAuth2{}
	for _, p := range ps {
		f := field + "." + p.key
		d.pos[f] = p.knode.Line
		v := resolve(p.val)
		switch p.key {
		case "token_url":
			o.TokenURL = d.str(v, f)
		case "client_id":
			o.ClientID = d.str(v, f)
		case "client_secret_env":
			o.ClientSecretEnv = d.str(v, f)
		case "scopes":
			o.Scopes = d.strs(v, f)
		case "params":
			o.Params = d.strMap(v, f)
		default:
			d.fail(p.knode, f, "unknown field")
		}
	}
	return o
}

// strs decodes a list of strings. Null means absent.
func (d *nodeDecoder) strs(n *yaml.Node, field string) []string {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.fail(n, field, "want a list of strings, got "+kindOf(n))
		return nil
	}
	out := make([]string, 0, len(n.Content))
	for _, e := range n.Content {
		e = resolve(e)
		if e.Kind != yaml.ScalarNode || e.Tag == "!!null" {
			d.fail(e, field, "want a list of strings, got an entry that is "+kindOf(e))
			continue
		}
		out = append(out, e.Value)
	}
	return out
}

// strMap decodes a mapping of strings to strings.
func (d *nodeDecoder) strMap(n *yaml.Node, field string) map[string]string {
	ps, ok := d.mapping(n, field)
	if !ok {
		return nil
	}
	m := make(map[string]string, len(ps))
	for _, p := range ps {
		f := field + "." + p.key
		d.pos[f] = p.knode.Line
		m[p.key] = d.str(resolve(p.val), f)
	}
	return m
}
