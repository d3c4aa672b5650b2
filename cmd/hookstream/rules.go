package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/expr-lang/expr/vm"
	"github.com/hookstream/hookstream/internal/config"
	"github.com/hookstream/hookstream/internal/worker"
	"github.com/hookstream/hookstream/rules"
	"github.com/hookstream/hookstream/sink"
)

const rulesUsage = `Usage: hookstream rules <command> [flags]

Commands:
  validate -f FILE                    check a rules file; every problem with its line
  test -f FILE --event EVENT.json     dry run: what each matching action would send
  apply -f FILE [--prune] [--dry-run] publish a rules file to the rules topic; --prune deletes
                                      the actions the file no longer has
  list [--output json]                list the actions on the rules topic, secrets masked
  delete ID                           delete an action from the rules topic (a tombstone)

apply, list and delete take --brokers, --rules-topic and --config (as run does).
`

// rulesCmd is `hookstream rules ...`.
func (c *cli) rulesCmd(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(c.stderr, rulesUsage)
		return usagef("rules: missing command (validate, test, apply, list, delete)")
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(c.stdout, rulesUsage)
		return nil
	case "validate":
		return c.rulesValidate(rest)
	case "test":
		return c.rulesTest(rest)
	case "apply":
		return c.rulesApply(ctx, rest)
	case "list":
		return c.rulesList(ctx, rest)
	case "delete":
		return c.rulesDelete(ctx, rest)
	default:
		return usagef("rules: unknown command %q (validate, test, apply, list, delete)", cmd)
	}
}

// rulesValidate checks a rules file: exit 0 with a summary, or exit 2 with
// every problem, one per line, each with its file, line, action and field.
func (c *cli) rulesValidate(args []string) error {
	fs := c.newFlagSet("rules validate", "rules validate -f FILE")
	file := fs.String("f", "", "rules `FILE` (YAML)")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if *file == "" {
		return usagef("rules validate: -f FILE is required")
	}
	env := newEnvProbe(c.getenv)
	set, err := loadProbed(*file, env)
	if err != nil {
		problems := rules.FieldErrors(err)
		if len(problems) == 0 {
			return usageError{err}
		}
		for _, p := range problems {
			fmt.Fprintln(c.stderr, p)
		}
		return usagef("%s: %d problems", *file, len(problems))
	}
	batched, mapped, templated, signed := 0, 0, 0, 0
	for _, a := range set.Actions {
		if a.Batched() {
			batched++
		}
		if a.Mapped() {
			mapped++
		}
		if a.Templated() {
			templated++
		}
		if len(a.Secrets) > 0 {
			signed++
		}
	}
	fmt.Fprintf(c.stdout, "%s: %d actions valid (%d enabled, %d batched, %d with a payload mapping, %d with a URL template, %d signed)\n",
		*file, len(set.Actions), set.Enabled(), batched, mapped, templated, signed)
	for _, a := range set.Actions {
		fmt.Fprintf(c.stdout, "  %-24s %s %s\n", a.ID, a.Method, worker.DisplayURL(a.URL))
	}
	if names := env.names(); len(names) > 0 {
		fmt.Fprintf(c.stdout, "note: not set here, and needed by run: %s\n", strings.Join(names, ", "))
	}
	if files := env.files(); len(files) > 0 {
		fmt.Fprintf(c.stdout, "note: not found here, and read by run (tls): %s\n", strings.Join(files, ", "))
	}
	return nil
}

// rulesTest is a dry run: for one event, which actions match and, for each,
// the exact request it would send. Header values taken from the environment
// are shown as ***.
func (c *cli) rulesTest(args []string) error {
	fs := c.newFlagSet("rules test", "rules test -f FILE --event EVENT.json")
	file := fs.String("f", "", "rules `FILE` (YAML)")
	eventFile := fs.String("event", "", "`EVENT.json`: one event, as a record value (- reads stdin)")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if *file == "" || *eventFile == "" {
		return usagef("rules test: -f FILE and --event EVENT.json are required")
	}
	env := newEnvProbe(c.getenv)
	set, err := loadProbed(*file, env)
	if err != nil {
		problems := rules.FieldErrors(err)
		if len(problems) == 0 {
			return usageError{err}
		}
		for _, p := range problems {
			fmt.Fprintln(c.stderr, p)
		}
		return usagef("%s: %d problems", *file, len(problems))
	}
	raw, err := c.readInput(*eventFile)
	if err != nil {
		return usagef("rules test: --event: %w", err)
	}
	var ev rules.Event
	if err := rules.Decode(raw, config.Default().MaxEventBytes, &ev); err != nil {
		return usagef("rules test: %s: this record would be dead-lettered: %w", *eventFile, err)
	}
	var machine vm.VM
	matched := 0
	for _, a := range set.Actions {
		if !isEnabled(a) {
			fmt.Fprintf(c.stdout, "- %s: disabled\n", a.ID)
			continue
		}
		ok, err := a.Match(&ev, &machine)
		switch {
		case err != nil:
			fmt.Fprintf(c.stdout, "- %s: no match: the trigger failed: %v\n", a.ID, err)
			continue
		case !ok:
			fmt.Fprintf(c.stdout, "- %s: no match\n", a.ID)
			continue
		}
		matched++
		url, body, err := a.Render(&ev, raw, &machine, nil)
		if err != nil {
			fmt.Fprintf(c.stdout, "- %s: matches, but would be dead-lettered (mapping): %v\n", a.ID, err)
			continue
		}
		c.printRequest(a, url, body)
	}
	fmt.Fprintf(c.stdout, "%d of %d actions match\n", matched, len(set.Actions))
	if names := env.names(); len(names) > 0 {
		fmt.Fprintf(c.stdout, "note: not set here: %s (signatures need the secret)\n", strings.Join(names, ", "))
	}
	if files := env.files(); len(files) > 0 {
		fmt.Fprintf(c.stdout, "note: not found here, and read by run (tls): %s\n", strings.Join(files, ", "))
	}
	return nil
}

// printRequest writes the request an action would send for one event.
func (c *cli) printRequest(a *rules.Compiled, url string, body []byte) {
	w := c.stdout
	note := "one event per request"
	if a.Batched() {
		// A batch is a JSON array; alone, this event is a batch of one.
		body = append(append([]byte("["), body...), ']')
		note = fmt.Sprintf("batched: up to %d events per request, shown as a batch of one", a.Batch.Size)
	}
	fmt.Fprintf(w, "- %s: matches (%s)\n\n", a.ID, note)
	fmt.Fprintf(w, "%s %s\n", a.Method, url)
	// The action's own headers may replace these two, as they do when sent.
	for _, kv := range [][2]string{{"Content-Type", "application/json"}, {"User-Agent", "hookstream/" + version}} {
		if !slices.ContainsFunc(a.Header, func(h [2]string) bool { return strings.EqualFold(h[0], kv[0]) }) {
			fmt.Fprintf(w, "%s: %s\n", kv[0], kv[1])
		}
	}
	for _, kv := range a.Header {
		fmt.Fprintf(w, "%s: %s\n", kv[0], maskedHeader(a.Headers, kv[0]))
	}
	if au := a.Auth; au != nil && au.Basic != nil {
		fmt.Fprintf(w, "Authorization: Basic *** (%s, the password from %s)\n", au.Basic.Username, au.Basic.PasswordEnv)
	} else if au != nil && au.OAuth2 != nil {
		fmt.Fprintf(w, "Authorization: Bearer *** (a token for client %s from %s)\n", au.OAuth2.ClientID, maskURL(au.OAuth2.TokenURL))
	}
	fmt.Fprintf(w, "Idempotency-Key: (derived from the action and the record's offsets)\n")
	switch {
	case len(a.Secrets) > 0 && isUnset(a.Secrets[0]):
		fmt.Fprintf(w, "%s: (not computed: %s is not set)\n", sink.HeaderSignature, a.SecretEnv)
	case len(a.Secrets) > 0:
		fmt.Fprintf(w, "%s: %s\n", sink.HeaderSignature, sink.Sign(a.Secrets[0], body))
		if a.Signature == "standard" {
			fmt.Fprintf(w, "%s: (the Idempotency-Key)\n", sink.HeaderWebhookID)
			fmt.Fprintf(w, "%s: (the time of the attempt, in Unix seconds)\n", sink.HeaderWebhookTimestamp)
			fmt.Fprintf(w, "%s: v1,... (HMAC-SHA256 of id.timestamp.body per secret)\n", sink.HeaderWebhookSignature)
		}
	default:
		fmt.Fprintf(w, "(unsigned: no secret_env)\n")
	}
	fmt.Fprintf(w, "\n%s\n\n", body)
	if r := a.RateLimit; r != nil {
		fmt.Fprintf(w, "rate limit: %s for the whole group\n", rateLimitText(r))
	}
	if t := a.TLS; t != nil {
		fmt.Fprintf(w, "tls: %s\n", tlsText(t))
	}
	if a.RateLimit != nil || a.TLS != nil {
		fmt.Fprintln(w)
	}
}

// envRef is a "${env:NAME}" reference in a header value.
var envRef = regexp.MustCompile(`\$\{env:[^}]*\}`)

// maskedHeader returns the header's value as written in the rules, with every
// part read from the environment replaced by ***.
func maskedHeader(written map[string]string, name string) string {
	for k, v := range written {
		if strings.EqualFold(k, name) {
			return envRef.ReplaceAllString(v, "***")
		}
	}
	return "***" // not found as written: show nothing that might be a secret
}

// readInput reads a file, or stdin for "-".
func (c *cli) readInput(name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(c.stdin)
	}
	return os.ReadFile(name)
}
