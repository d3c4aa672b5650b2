package deploy_test

import (
	"net/url"
	"os"
	"regexp"
	"testing"

	"github.com/hookstream/hookstream/rules"
)

var sampleRulesFile = repoPath("deploy", "rules.yaml")

// loadSampleRules parses deploy/rules.yaml as the worker does: unknown
// fields and wrong types are refused.
func loadSampleRules(t *testing.T) []rules.Action {
	t.Helper()
	b, err := os.ReadFile(sampleRulesFile)
	if err != nil {
		t.Fatal(err)
	}
	actions, err := rules.ParseYAML(b, sampleRulesFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(actions) == 0 {
		t.Fatalf("%s has no actions", sampleRulesFile)
	}
	return actions
}

var envRef = regexp.MustCompile(`\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}`)

// requiredEnv returns the environment variables the actions read: their
// secret_env and the ${env:NAME} references in their headers.
func requiredEnv(actions []rules.Action) map[string]string {
	need := map[string]string{} // variable -> action
	for _, a := range actions {
		if a.SecretEnv != "" {
			need[a.SecretEnv] = a.ID
		}
		for _, v := range a.Headers {
			for _, m := range envRef.FindAllStringSubmatch(v, -1) {
				need[m[1]] = a.ID
			}
		}
	}
	return need
}

// composeDefault resolves a compose value written as ${VAR:-default} to its
// default, as Compose does when VAR is unset.
var composeDefault = regexp.MustCompile(`\$\{[A-Za-z_][A-Za-z0-9_]*:-([^}]*)\}`)

// TestSampleRulesCompile loads deploy/rules.yaml with the rules package, as
// `hookstream rules validate` does, in the environment the compose file
// gives worker-1; every action targets the stack's receiver.
func TestSampleRulesCompile(t *testing.T) {
	env := loadCompose(t).Services["worker-1"].Environment
	getenv := func(name string) string { return composeDefault.ReplaceAllString(env[name], "$1") }
	set, err := rules.LoadFile(sampleRulesFile, rules.Options{Getenv: getenv})
	if err != nil {
		t.Fatalf("%s does not load: %v", sampleRulesFile, err)
	}
	if set.Enabled() == 0 {
		t.Errorf("%s: no action is enabled", sampleRulesFile)
	}
	signed := 0
	for _, a := range set.Actions {
		if len(a.Secrets) > 0 {
			signed++
		}
		u, err := url.Parse(a.URL)
		if err != nil || u.Scheme != "http" || u.Host != "receiver:8080" {
			t.Errorf("action %s: url %q, want the compose stack's receiver (http://receiver:8080/...)", a.ID, a.URL)
		}
	}
	if signed == 0 {
		t.Errorf("%s: no action is signed: set secret_env on at least one", sampleRulesFile)
	}
}
