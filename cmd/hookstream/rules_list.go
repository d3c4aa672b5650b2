package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/hookstream/hookstream/rules"
	"github.com/hookstream/hookstream/rules/topic"
)

// listedAction is one action of `rules list`, secrets masked. It is also
// the JSON form of --output json.
type listedAction struct {
	ID        string            `json:"id"`
	Trigger   string            `json:"trigger,omitempty"`
	Method    string            `json:"method,omitempty"`
	URL       string            `json:"url,omitempty"`
	Headers   map[string]string `json:"headers,omitempty"`
	Batch     *listedBatch      `json:"batch"` // null: one event per request
	Enabled   bool              `json:"enabled"`
	SecretEnv string            `json:"secret_env,omitempty"` // a variable's name, not its value
	RateLimit *rules.RateLimit  `json:"rate_limit,omitempty"` // burst filled in
	Auth      *rules.Auth       `json:"auth,omitempty"`       // names of variables, never values
	TLS       *rules.TLS        `json:"tls,omitempty"`        // paths on the workers
	Invalid   string            `json:"invalid,omitempty"`    // why workers refuse it
}

type listedBatch struct {
	Size     int    `json:"size"`
	Wait     string `json:"wait"`
	MaxBytes int    `json:"max_bytes,omitempty"`
}

// rulesList shows the actions on the rules topic.
func (c *cli) rulesList(ctx context.Context, args []string) error {
	fs := c.newFlagSet("rules list", "rules list [--output text|json] [--brokers HOST:PORT] [--rules-topic NAME] [--config FILE]")
	output := fs.String("output", "text", "`FORMAT`: text or json")
	cf := addTopicFlags(fs)
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if *output != "text" && *output != "json" {
		return usagef("rules list: --output %q: want text or json", *output)
	}
	cfg, opts, err := c.connect(ctx, fs, cf)
	if err != nil {
		return err
	}
	name := cfg.Kafka.RulesTopic
	ctx, cancel := context.WithTimeout(ctx, rulesTopicTimeout)
	defer cancel()
	current, err := topic.Read(ctx, opts, name)
	if err != nil && !errors.Is(err, topic.ErrNoTopic) {
		return fmt.Errorf("rules list: %w", err)
	}
	list := make([]listedAction, 0, len(current))
	for _, id := range slices.Sorted(maps.Keys(current)) {
		list = append(list, listed(id, current[id]))
	}
	if *output == "json" {
		enc := json.NewEncoder(c.stdout)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		return enc.Encode(list)
	}
	if len(list) == 0 {
		fmt.Fprintf(c.stdout, "no actions on %s\n", name)
		return nil
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTRIGGER\tMETHOD\tURL\tBATCH\tENABLED\tRATE LIMIT\tAUTH\tTLS\tHEADERS")
	for _, a := range list {
		if a.Invalid != "" {
			fmt.Fprintf(tw, "%s\t(invalid, refused by the workers: %s)\t\t\t\t\t\t\t\t\n", a.ID, oneLine(a.Invalid))
			continue
		}
		batch := "-"
		if b := a.Batch; b != nil {
			batch = fmt.Sprintf("%d/%s", b.Size, b.Wait)
		}
		headers := make([]string, 0, len(a.Headers))
		for _, k := range slices.Sorted(maps.Keys(a.Headers)) {
			headers = append(headers, k+": "+a.Headers[k])
		}
		if len(headers) == 0 {
			headers = append(headers, "-")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%t\t%s\t%s\t%s\t%s\n", a.ID, a.Trigger, a.Method, a.URL, batch, a.Enabled,
			rateLimitText(a.RateLimit), authText(a.Auth), tlsText(a.TLS), strings.Join(headers, "; "))
	}
	return tw.Flush()
}

// listed returns the listing of one record value, defaults shown and
// secrets masked.
func listed(id string, value []byte) listedAction {
	a, err := rules.ParseJSON(value)
	switch {
	case err != nil:
		return listedAction{ID: id, Invalid: err.Error()}
	case a.ID != id:
		return listedAction{ID: id, Invalid: fmt.Sprintf("key %q but id %q", id, a.ID)}
	}
	l := listedAction{
		ID:        a.ID,
		Trigger:   a.Trigger,
		Method:    cmpOr(strings.ToUpper(a.Method), rules.DefaultMethod),
		URL:       maskURL(a.URL),
		Enabled:   a.Enabled == nil || *a.Enabled,
		SecretEnv: a.SecretEnv,
	}
	if len(a.Headers) > 0 {
		l.Headers = make(map[string]string, len(a.Headers))
		for k, v := range a.Headers {
			l.Headers[k] = maskHeaderValue(k, v)
		}
	}
	if r := a.RateLimit; r != nil {
		l.RateLimit = &rules.RateLimit{RequestsPerSecond: r.RequestsPerSecond, Burst: cmpOr(r.Burst, rules.DefaultBurst(r.RequestsPerSecond))}
	}
	l.Auth = maskedAuth(a.Auth)
	l.TLS = a.TLS
	if b := a.Batch; b != nil {
		l.Batch = &listedBatch{Size: cmpOr(b.Size, rules.DefaultBatchSize), Wait: rules.DefaultBatchWait.String(), MaxBytes: b.MaxBytes}
		if b.Wait > 0 {
			l.Batch.Wait = b.Wait.String()
		}
	}
	return l
}

// maskedAuth is an action's auth as listed: variables' names as written,
// the token URL and params masked like any URL.
func maskedAuth(au *rules.Auth) *rules.Auth {
	if au == nil {
		return nil
	}
	out := &rules.Auth{Basic: au.Basic}
	if o := au.OAuth2; o != nil {
		m := *o
		m.TokenURL = maskURL(o.TokenURL)
		m.Params = make(map[string]string, len(o.Params))
		for k, v := range o.Params {
			if secretName(k) {
				v = "***"
			}
			m.Params[k] = v
		}
		out.OAuth2 = &m
	}
	return out
}

func rateLimitText(r *rules.RateLimit) string {
	if r == nil {
		return "-"
	}
	return fmt.Sprintf("%g/s burst %d", r.RequestsPerSecond, r.Burst)
}

func authText(au *rules.Auth) string {
	switch {
	case au == nil:
		return "-"
	case au.Basic != nil:
		return "basic " + au.Basic.Username + " (" + au.Basic.PasswordEnv + ")"
	case au.OAuth2 != nil:
		return "oauth2 " + au.OAuth2.ClientID + " (" + au.OAuth2.ClientSecretEnv + ") at " + au.OAuth2.TokenURL
	}
	return "-"
}

func tlsText(t *rules.TLS) string {
	if t == nil {
		return "-"
	}
	var parts []string
	if t.CAFile != "" {
		parts = append(parts, "ca "+t.CAFile)
	}
	if t.CertFile != "" {
		parts = append(parts, "cert "+t.CertFile)
	}
	return strings.Join(parts, ", ")
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// secretWords mark a header or query parameter name whose value is a
// credential. Masking too much is harmless; too little leaks a secret.
var secretWords = []string{"auth", "token", "secret", "password", "passwd", "key", "signature", "cookie", "session", "credential"}

func secretName(name string) bool {
	lower := strings.ToLower(name)
	return slices.ContainsFunc(secretWords, func(w string) bool { return strings.Contains(lower, w) })
}

// maskHeaderValue masks a header value as written in a rule: the whole
// value of a credential-looking header, else every "${env:NAME}" part.
func maskHeaderValue(name, value string) string {
	if secretName(name) {
		return "***"
	}
	return envRef.ReplaceAllString(value, "***")
}

// maskURL masks the user info and credential-looking query parameters of
// a URL as written in a rule ({{ templates }} kept).
func maskURL(raw string) string {
	rest, query, hasQuery := strings.Cut(raw, "?")
	if scheme, after, ok := strings.Cut(rest, "://"); ok {
		host, path, hasPath := strings.Cut(after, "/")
		if i := strings.LastIndexByte(host, '@'); i >= 0 {
			host = "***@" + host[i+1:]
		}
		rest = scheme + "://" + host
		if hasPath {
			rest += "/" + path
		}
	}
	if !hasQuery {
		return rest
	}
	params := strings.Split(query, "&")
	for i, p := range params {
		if k, v, ok := strings.Cut(p, "="); ok && secretName(k) && !strings.Contains(v, "{{") {
			params[i] = k + "=***"
		}
	}
	return rest + "?" + strings.Join(params, "&")
}

// oneLine joins a multi-line message.
func oneLine(s string) string { return strings.ReplaceAll(s, "\n", "; ") }
