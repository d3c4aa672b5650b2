package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hookstream/hookstream/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// inProcess runs one command line in this process, with env as its whole
// environment, and returns what it printed and its exit code.
func inProcess(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	c := &cli{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr,
		lookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	code := c.main(ctx, args)
	return result{stdout.String(), stderr.String(), code}
}

// rulesCluster is an in-process Kafka cluster with nothing on it.
func rulesCluster(t *testing.T) (addr string, adm *kadm.Client, cl *kgo.Client) {
	t.Helper()
	c := kafkatest.NewCluster(t)
	cl = c.NewClient(t)
	return c.Addr, kadm.NewClient(cl), cl
}

// topicRecords returns every record of topic, in offset order.
func topicRecords(t *testing.T, adm *kadm.Client, addr, topic string) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	end, _ := ends.Lookup(topic, 0)
	if end.Offset <= 0 {
		return nil
	}
	cl := testClient(t, addr, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	var out []*kgo.Record
	for int64(len(out)) < end.Offset {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %s: %d of %d records", topic, len(out), end.Offset)
		}
		out = append(out, fs.Records()...)
	}
	return out
}

const rulesV1 = `actions:
- id: crm
  trigger: type == "track" && event == "Signed Up"
  url: https://crm.example.com/hooks/{{ userId }}?api_key=k-123&site=shop
  headers:
    Authorization: "Bearer ${env:CRM_TOKEN}"
    X-Team: growth
    X-Tenant: "${env:TENANT}"
  secret_env: CRM_SECRET
  batch: {size: 100}
- id: pages
  trigger: type == "page"
  url: https://analytics.example.com/pages
  method: put
  enabled: false
  rate_limit: {requests_per_second: 5}
  auth:
    oauth2:
      token_url: https://auth.example.com/token?tenant=a
      client_id: hookstream
      client_secret_env: PAGES_SECRET
      params: {audience: pages, api_key: k-456}
  tls: {ca_file: /etc/hookstream/ca.pem}
`

func TestRulesApplyListDelete(t *testing.T) {
	addr, adm, _ := rulesCluster(t)
	env := map[string]string{"CRM_TOKEN": "tok-s3cret", "TENANT": "acme-tenant", "CRM_SECRET": "hmac-s3cret"}
	topicFlags := []string{"--brokers", addr, "--rules-topic", "team.rules"}
	run := func(args ...string) result {
		t.Helper()
		return inProcess(t, env, append(args, topicFlags...)...)
	}
	v1 := writeFile(t, "rules.yaml", rulesV1)

	r := run("rules", "apply", "-f", v1)
	if r.code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"created the rules topic team.rules", "2 added, 0 changed, 0 unchanged, 0 removed", "added      crm", "added      pages"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("apply output lacks %q:\n%s", want, r.stdout)
		}
	}
	recs := topicRecords(t, adm, addr, "team.rules")
	if len(recs) != 2 {
		t.Fatalf("%d records on the topic after apply, want 2", len(recs))
	}
	for _, rec := range recs {
		for _, secret := range []string{"tok-s3cret", "acme-tenant", "hmac-s3cret"} {
			if bytes.Contains(rec.Value, []byte(secret)) {
				t.Errorf("record %s holds the value of an environment variable: %s", rec.Key, rec.Value)
			}
		}
		if string(rec.Key) == "crm" && !bytes.Contains(rec.Value, []byte(`"Authorization":"Bearer ${env:CRM_TOKEN}"`)) {
			t.Errorf("record crm should carry the header as written: %s", rec.Value)
		}
	}

	t.Run("list", func(t *testing.T) {
		r := run("rules", "list")
		if r.code != 0 {
			t.Fatalf("list: exit %d\n%s", r.code, r.stderr)
		}
		for _, want := range []string{"ID", "crm", `type == "track" && event == "Signed Up"`, "POST", "PUT",
			"https://crm.example.com/hooks/{{ userId }}?api_key=***&site=shop", "100/1s", "false",
			"Authorization: ***", "X-Team: growth", "X-Tenant: ***",
			"5/s burst 5", "oauth2 hookstream (PAGES_SECRET) at https://auth.example.com/token?tenant=a", "ca /etc/hookstream/ca.pem"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("list lacks %q:\n%s", want, r.stdout)
			}
		}
		for _, secret := range []string{"tok-s3cret", "acme-tenant", "hmac-s3cret", "k-123", "k-456", "${env:"} {
			if strings.Contains(r.stdout, secret) {
				t.Errorf("list shows %q:\n%s", secret, r.stdout)
			}
		}
		r = run("rules", "list", "--output", "json")
		var got []listedAction
		if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || r.code != 0 {
			t.Fatalf("list --output json: exit %d, %v:\n%s", r.code, err, r.stdout)
		}
		if len(got) != 2 || got[0].ID != "crm" || got[1].ID != "pages" {
			t.Fatalf("json list = %+v, want crm and pages", got)
		}
		crm, pages := got[0], got[1]
		if crm.Headers["Authorization"] != "***" || crm.Headers["X-Tenant"] != "***" || crm.Headers["X-Team"] != "growth" {
			t.Errorf("crm headers = %v, want secrets masked", crm.Headers)
		}
		if crm.Batch == nil || crm.Batch.Size != 100 || crm.Batch.Wait != "1s" || !crm.Enabled || crm.SecretEnv != "CRM_SECRET" {
			t.Errorf("crm = %+v", crm)
		}
		if pages.Batch != nil || pages.Enabled || pages.Method != "PUT" {
			t.Errorf("pages = %+v, want unbatched, disabled, PUT", pages)
		}
		if o := pages.Auth.OAuth2; pages.RateLimit.Burst != 5 || o.ClientSecretEnv != "PAGES_SECRET" || o.Params["api_key"] != "***" ||
			o.Params["audience"] != "pages" || pages.TLS.CAFile != "/etc/hookstream/ca.pem" || strings.Contains(r.stdout, "k-456") {
			t.Errorf("pages: rate_limit %+v, auth %+v, tls %+v", pages.RateLimit, o, pages.TLS)
		}
	})

	t.Run("apply again changes nothing", func(t *testing.T) {
		r := run("rules", "apply", "-f", v1)
		if r.code != 0 || !strings.Contains(r.stdout, "0 added, 0 changed, 2 unchanged, 0 removed") {
			t.Errorf("apply again: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		if n := len(topicRecords(t, adm, addr, "team.rules")); n != 2 {
			t.Errorf("%d records after applying the same file, want still 2", n)
		}
	})

	// v2 changes crm, drops pages and adds signups.
	v2 := writeFile(t, "rules.yaml", strings.Replace(rulesV1[:strings.Index(rulesV1, "- id: pages")], "size: 100", "size: 200", 1)+`- id: signups
  trigger: event == "Signed Up"
  url: https://hooks.example.com/signups
`)
	t.Run("apply without prune keeps", func(t *testing.T) {
		r := run("rules", "apply", "-f", v2)
		if r.code != 0 {
			t.Fatalf("apply v2: exit %d\n%s", r.code, r.stderr)
		}
		for _, want := range []string{"1 added, 1 changed, 0 unchanged, 0 removed", "changed    crm", "added      signups", "kept on the topic (--prune deletes them): pages"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("apply v2 output lacks %q:\n%s", want, r.stdout)
			}
		}
	})
	t.Run("apply with prune removes", func(t *testing.T) {
		before := len(topicRecords(t, adm, addr, "team.rules"))
		r := run("rules", "apply", "--prune", "-f", v2)
		if r.code != 0 || !strings.Contains(r.stdout, "0 added, 0 changed, 2 unchanged, 1 removed") || !strings.Contains(r.stdout, "removed    pages") {
			t.Fatalf("apply --prune: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		recs := topicRecords(t, adm, addr, "team.rules")
		if len(recs) != before+1 || string(recs[len(recs)-1].Key) != "pages" || recs[len(recs)-1].Value != nil {
			t.Errorf("want one tombstone for pages at the end, got %d records (was %d)", len(recs), before)
		}
	})
	t.Run("delete", func(t *testing.T) {
		r := run("rules", "delete", "signups")
		if r.code != 0 || !strings.Contains(r.stdout, "deleted signups from team.rules") {
			t.Fatalf("delete: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		recs := topicRecords(t, adm, addr, "team.rules")
		if last := recs[len(recs)-1]; string(last.Key) != "signups" || last.Value != nil {
			t.Errorf("last record %s=%s, want a tombstone for signups", last.Key, last.Value)
		}
		r = run("rules", "list")
		if strings.Contains(r.stdout, "signups") || strings.Contains(r.stdout, "pages") || !strings.Contains(r.stdout, "crm") {
			t.Errorf("list after delete:\n%s", r.stdout)
		}
		r = run("rules", "delete", "signups")
		if r.code != 1 || !strings.Contains(r.stderr, `no action "signups" on team.rules`) {
			t.Errorf("delete of a missing id: exit %d, stderr %s", r.code, r.stderr)
		}
	})
}

func TestRulesApplyInvalidPublishesNothing(t *testing.T) {
	addr, adm, _ := rulesCluster(t)
	good := writeFile(t, "good.yaml", rulesV1)
	if r := inProcess(t, nil, "rules", "apply", "-f", good, "--brokers", addr); r.code != 0 {
		t.Fatalf("apply: exit %d\n%s", r.code, r.stderr)
	}
	bad := writeFile(t, "bad.yaml", rulesV1+`- id: broken
  trigger: type == "track"
  url: ftp://nowhere.example.com
  batch: {size: 5000}
`)
	r := inProcess(t, nil, "rules", "apply", "--prune", "-f", bad, "--brokers", addr)
	if r.code != 2 {
		t.Errorf("apply of an invalid file: exit %d, want 2", r.code)
	}
	// The broken action follows rulesV1: its url is on the third line after it.
	urlLine := strings.Count(rulesV1, "\n") + 3
	for _, want := range []string{fmt.Sprintf(`bad.yaml:%d: action "broken": url`, urlLine),
		fmt.Sprintf(`bad.yaml:%d: action "broken": batch.size 5000`, urlLine+1), "nothing published"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if n := len(topicRecords(t, adm, addr, "hookstream.rules")); n != 2 {
		t.Errorf("%d records on the topic, want the 2 applied before", n)
	}
}

func TestNotCompactedRulesTopic(t *testing.T) {
	addr, adm, _ := rulesCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if _, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"cleanup.policy": kadm.StringPtr("delete")}, "hookstream.rules"); err != nil {
		t.Fatal(err)
	}
	rules := writeFile(t, "rules.yaml", rulesV1)
	for name, args := range map[string][]string{
		"run":   {"run", "--brokers", addr, "--http", "127.0.0.1:0"},
		"apply": {"rules", "apply", "-f", rules, "--brokers", addr},
	} {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			r := inProcess(t, nil, args...)
			if r.code != 2 || !strings.Contains(r.stderr, "rules topic hookstream.rules has cleanup.policy=delete, want compact") {
				t.Errorf("exit %d, want 2 with a clear message; stderr:\n%s", r.code, r.stderr)
			}
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("refusing took %s", took)
			}
		})
	}
}

func TestMaskURL(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "https://h.example.com/a/{{ userId }}", "https://h.example.com/a/{{ userId }}"},
		{"user info", "https://u:p@h.example.com/a", "https://***@h.example.com/a"},
		{"user info, no path", "https://u:p@h.example.com", "https://***@h.example.com"},
		{"secret query", "https://h.example.com/a?token=abc&site=x&apiKey=k", "https://h.example.com/a?token=***&site=x&apiKey=***"},
		{"templated secret-looking query", "https://h.example.com/a?session={{ context.session }}", "https://h.example.com/a?session={{ context.session }}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := maskURL(tt.in); got != tt.want {
				t.Errorf("maskURL(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestMaskHeaderValue(t *testing.T) {
	tests := []struct{ name, value, want string }{
		{"Authorization", "Bearer ${env:T}", "***"},
		{"X-Api-Key", "literal-key", "***"},
		{"X-Auth-Token", "abc", "***"},
		{"X-Tenant", "${env:TENANT}", "***"},
		{"X-Mixed", "id-${env:A}-${env:B}", "id-***-***"},
		{"X-Team", "growth", "growth"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := maskHeaderValue(tt.name, tt.value); got != tt.want {
				t.Errorf("maskHeaderValue(%q, %q) = %q, want %q", tt.name, tt.value, got, tt.want)
			}
		})
	}
}
