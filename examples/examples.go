// Package examples holds the sample rules and event shipped with hookstream:
// `hookstream dev` runs examples/rules.yaml, and the README's walk-through
// uses both files. They are embedded so that the binary needs no files.
package examples

import "embed"

//go:embed rules.yaml event.json
var files embed.FS

// Rules returns examples/rules.yaml.
func Rules() []byte { return read("rules.yaml") }

// Event returns examples/event.json, an identify event.
func Event() []byte { return read("event.json") }

func read(name string) []byte {
	b, err := files.ReadFile(name)
	if err != nil {
		panic("examples: " + name + " is not embedded: " + err.Error()) // a build defect, not a run-time condition
	}
	return b
}
