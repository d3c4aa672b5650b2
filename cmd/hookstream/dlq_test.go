package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookstream/hookstream/internal/deadletter"
	"github.com/hookstream/hookstream/internal/dlq"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// deadLetters writes dead letters to hookstream.dlq on the cluster at addr:
// event i of action actions[i] ("" = poison), written one second apart
// ending a minute ago.
func deadLetters(t *testing.T, addr string, actions ...string) {
	t.Helper()
	cl := testClient(t, addr)
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	for _, topic := range []string{"hookstream.dlq", "hookstream.retry"} {
		if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, nil, topic); err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			t.Fatal(err)
		}
	}
	start := time.Now().Add(-time.Minute - time.Duration(len(actions))*time.Second)
	recs := make([]*kgo.Record, len(actions))
	for i, a := range actions {
		src := &kgo.Record{Topic: "events", Partition: 0, Offset: int64(i), Key: []byte("u1"),
			Value: fmt.Appendf(nil, `{"type":"track","event":"Paid","messageId":"m-%d"}`, i)}
		l := deadletter.Letter{Reason: deadletter.ReasonRejected, Action: a, Status: 400,
			Error: "POST https://svc:hunter2@hooks.example.com/x?token=abc123&plan=pro: status 400", Attempts: 1}
		if a == "" {
			src.Value, l = []byte("not json"), deadletter.Letter{Reason: deadletter.ReasonDecode, Error: "value is not a JSON object"}
		}
		recs[i] = deadletter.Encode("hookstream.dlq", src, l)
		recs[i].Timestamp = start.Add(time.Duration(i) * time.Second)
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

func TestDLQUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"dlq"}, "want list or replay"},
		{[]string{"dlq", "show"}, `unknown command "show"`},
		{[]string{"dlq", "list", "--reason", "timeout"}, `--reason: reason "timeout": want one of decode, too_large, rejected, retries_exhausted, mapping`},
		{[]string{"dlq", "list", "--since", "yesterday"}, `--since "yesterday": want an RFC 3339 time`},
		{[]string{"dlq", "list", "--since", "1h", "--until", "2h"}, "is before --since"},
		{[]string{"dlq", "replay", "--output", "yaml"}, `--output "yaml": want text or json`},
		{[]string{"dlq", "list", "extra"}, "extra"},
	} {
		r := inProcess(t, nil, tc.args...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want 2 and %q", strings.Join(tc.args, " "), r.code, r.stderr, tc.want)
		}
	}
}

func TestDLQList(t *testing.T) {
	addr, _, _ := rulesCluster(t)
	if r := inProcess(t, nil, "dlq", "list", "--brokers", addr); r.code != 0 || !strings.Contains(r.stdout, "no dead letters on hookstream.dlq") {
		t.Fatalf("list without a topic: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	deadLetters(t, addr, "crm", "", "billing", "crm")

	r := inProcess(t, nil, "dlq", "list", "--brokers", addr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != 0 || len(lines) != 6 {
		t.Fatalf("list: exit %d, stdout\n%s\nstderr %s", r.code, r.stdout, r.stderr)
	}
	for i, want := range []string{"TIME", "crm", "decode", "billing", "crm", "4 dead letters on hookstream.dlq"} {
		if !strings.Contains(lines[i], want) {
			t.Errorf("line %d = %q, want %q in it", i, lines[i], want)
		}
	}
	if !strings.Contains(lines[1], "m-0") || !strings.Contains(lines[1], "events/0@0") || !strings.Contains(lines[1], "400") {
		t.Errorf("first row %q: want messageId m-0, source events/0@0 and status 400", lines[1])
	}
	for _, secret := range []string{"hunter2", "abc123"} {
		if strings.Contains(r.stdout, secret) {
			t.Errorf("list shows the secret %q:\n%s", secret, r.stdout)
		}
	}

	r = inProcess(t, nil, "dlq", "list", "--brokers", addr, "--action", "crm", "--reason", "rejected", "--since", "10m", "--output", "json")
	var got []dlq.Letter
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || r.code != 0 {
		t.Fatalf("list json: exit %d, %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	if len(got) != 2 || got[0].MessageID != "m-0" || got[1].MessageID != "m-3" || got[1].Action != "crm" || got[1].SourceOffset != 3 {
		t.Errorf("list json = %+v, want crm's m-0 and m-3", got)
	}
	if strings.Contains(r.stdout, "hunter2") || !strings.Contains(got[0].Error, "https://***@hooks.example.com/x?token=***&plan=pro") {
		t.Errorf("json error %q: want the URL's credentials masked", got[0].Error)
	}

	if r := inProcess(t, nil, "dlq", "list", "--brokers", addr, "--until", "5m"); r.code != 0 || !strings.Contains(r.stdout, "no dead letters") {
		t.Errorf("list --until 5m: exit %d, %q; want none (all were written a minute ago)", r.code, r.stdout)
	}
}

func TestDLQReplay(t *testing.T) {
	addr, adm, _ := rulesCluster(t)
	deadLetters(t, addr, "crm", "", "billing", "crm", "paused")
	rulesFile := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(rulesFile, []byte(`actions:
- id: crm
  trigger: event == "Paid"
  url: https://crm.example.com/hooks
- id: paused
  trigger: "true"
  url: https://x.example.com/
  enabled: false
`), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"dlq", "replay", "--brokers", addr, "--rules", rulesFile}

	dry := inProcess(t, nil, append(args, "--dry-run")...)
	const summary = "selected 5, %s, skipped 3 (1 no action: a poison record cannot be replayed; 1 the action no longer exists; 1 the action is disabled); actions from file " // + path
	if dry.code != 0 || !strings.Contains(dry.stdout, fmt.Sprintf(summary, "would replay 2 (dry run: nothing written)")) {
		t.Fatalf("dry run: exit %d\n%s%s", dry.code, dry.stdout, dry.stderr)
	}
	if recs := topicRecords(t, adm, addr, "hookstream.retry"); len(recs) != 0 {
		t.Fatalf("dry run wrote %d records to the retry topic", len(recs))
	}

	r := inProcess(t, nil, append(args, "--output", "json")...)
	var out struct {
		DryRun  bool          `json:"dry_run"`
		Summary dlq.Summary   `json:"summary"`
		Letters []dlq.Planned `json:"letters"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || r.code != 0 {
		t.Fatalf("replay: exit %d, %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	if out.DryRun || out.Summary.Replayed != 2 || len(out.Letters) != 5 || out.Letters[2].Skip != dlq.SkipDeleted {
		t.Errorf("replay json = %+v", out)
	}
	recs := topicRecords(t, adm, addr, "hookstream.retry")
	if len(recs) != 2 {
		t.Fatalf("retry topic holds %d records, want the 2 replayed", len(recs))
	}
	for i, want := range []string{`{"type":"track","event":"Paid","messageId":"m-0"}`, `{"type":"track","event":"Paid","messageId":"m-3"}`} {
		if d := deadletter.Decode(recs[i]); !d.Parked || d.Action != "crm" || string(recs[i].Value) != want || d.Source.Offset != int64(3*i) {
			t.Errorf("retry record %d: parked %v action %q value %s source offset %d; want crm's event unchanged",
				i, d.Parked, d.Action, recs[i].Value, d.Source.Offset)
		}
	}
}
