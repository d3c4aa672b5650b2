package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"

	"github.com/hookstream/hookstream/rules"
)

// loadRulesFile reads and compiles a rules file. Every problem is reported
// at once, each with its file, line, action and field.
func loadRulesFile(path string, getenv func(string) string) (*rules.Set, error) {
	return rules.LoadFile(path, rules.Options{Getenv: getenv})
}

// loadProbed is loadRulesFile for commands run away from the workers: the
// probe stands in for what is not here (see envProbe).
func loadProbed(path string, p *envProbe) (*rules.Set, error) {
	return rules.LoadFile(path, p.options())
}

// newStore returns a store holding set.
func newStore(set *rules.Set) *rules.Store {
	s := &rules.Store{}
	s.Swap(set)
	return s
}

// isEnabled reports whether an action takes part in matching.
func isEnabled(a *rules.Compiled) bool { return a.Enabled == nil || *a.Enabled }

// unsetPrefix starts the stand-in value of a variable that is not set.
const unsetPrefix = "hookstream-unset-"

// envProbe lets `rules validate` and `rules test` check a rules file where
// its secrets are not set (a CI job, a laptop): a variable that is not set
// resolves to a stand-in and is remembered, so the commands can say which
// variables `run` will need instead of failing. Likewise a tls file that
// does not exist here is taken to be on the workers' machines: its checks
// are skipped and it is remembered. A file that exists is checked.
type envProbe struct {
	getenv       func(string) string
	missing      map[string]bool
	missingFiles map[string]bool
}

func newEnvProbe(getenv func(string) string) *envProbe {
	return &envProbe{getenv: getenv, missing: map[string]bool{}, missingFiles: map[string]bool{}}
}

// options are the compile options reading through the probe.
func (p *envProbe) options() rules.Options {
	return rules.Options{Getenv: p.get, ReadFile: p.readFile}
}

func (p *envProbe) readFile(name string) ([]byte, error) {
	data, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		p.missingFiles[name] = true
		return nil, fmt.Errorf("%s: %w", name, rules.ErrFileElsewhere)
	}
	return data, err
}

// files returns the tls files that are not here, sorted.
func (p *envProbe) files() []string { return slices.Sorted(maps.Keys(p.missingFiles)) }

func (p *envProbe) get(name string) string {
	if v := p.getenv(name); v != "" {
		return v
	}
	p.missing[name] = true
	return unsetPrefix + name
}

// names returns the variables that were not set, sorted.
func (p *envProbe) names() []string { return slices.Sorted(maps.Keys(p.missing)) }

// isUnset reports whether a secret is a stand-in for an unset variable.
func isUnset(secret []byte) bool { return bytes.HasPrefix(secret, []byte(unsetPrefix)) }
