package deploy_test

import (
	"net/url"
	"regexp"
	"testing"

	"github.com/hookstream/hookstream/rules"
)

var sampleRulesFile = repoPath("deploy", "rules.yaml")

// loadSampleRules decodes deploy/rules.yaml into the rules package's Action,
// strictly, so a field the worker would not know fails here.
func loadSampleRules(t *testing.T) []rules.Action {
	t.Helper()
	var f struct {
		Actions []rules.Action `yaml:"actions"`
	}
	readYAML(t, sampleRulesFile, &f)
	if len(f.Actions) == 0 {
		t.Fatalf("%s has no actions", sampleRulesFile)
	}
	return f.Actions
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

func TestSampleRules(t *testing.T) {
	ids := map[string]bool{}
	for i, a := range loadSampleRules(t) {
		if a.ID == "" || ids[a.ID] {
			t.Errorf("action %d: id %q must be set and unique", i, a.ID)
		}
		ids[a.ID] = true
		if a.Trigger == "" {
			t.Errorf("action %s: no trigger", a.ID)
		}
		u, err := url.Parse(a.URL)
		if err != nil || u.Scheme != "http" || u.Host != "receiver:8080" {
			t.Errorf("action %s: url %q, want the compose stack's receiver (http://receiver:8080/...)", a.ID, a.URL)
		}
		switch a.Method {
		case "", "POST", "PUT", "PATCH", "DELETE":
		default:
			t.Errorf("action %s: method %q", a.ID, a.Method)
		}
		if a.Batch != nil && (a.Batch.Size < 0 || a.Batch.Size > 1000) {
			t.Errorf("action %s: batch.size %d, want 1..1000", a.ID, a.Batch.Size)
		}
	}
	if len(requiredEnv(loadSampleRules(t))) == 0 {
		t.Error("no sample action is signed: set secret_env on at least one")
	}
}
