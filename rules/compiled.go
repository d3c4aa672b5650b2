package rules

import (
	"crypto/tls"

	"github.com/expr-lang/expr/vm"
)

// Options are the inputs to compilation that come from outside the rule.
type Options struct {
	// Getenv resolves "${env:NAME}" in headers and secret_env. Nil means an
	// empty environment. Only cmd passes os.Getenv.
	Getenv func(string) string

	// ReadFile reads the files of an action's tls section. Nil means
	// os.ReadFile. An error wrapping ErrFileElsewhere skips that file's
	// checks (for commands run away from the workers).
	ReadFile func(name string) ([]byte, error)

	// MemoryBudget is the expr VM's memory budget for one evaluation of one
	// expression (see vm.VM.MemoryBudget). Zero means DefaultMemoryBudget.
	MemoryBudget uint
}

func (o Options) getenv(name string) string {
	if o.Getenv == nil {
		return ""
	}
	return o.Getenv(name)
}

// Compiled is an action ready to run: defaults filled in, expressions compiled
// once, headers and secrets resolved. It is immutable and safe to share
// between goroutines; each goroutine brings its own *vm.VM.
type Compiled struct {
	Action              // defaults filled in: Enabled is never nil, Batch is nil when unbatched
	Header  [][2]string // resolved static headers, sorted by name
	Secrets [][]byte    // from SecretEnv (space-separated); nil = unsigned
	// Password is auth.basic's password, from its password_env.
	Password Secret
	// ClientSecret is auth.oauth2's client secret, from its client_secret_env.
	ClientSecret Secret
	// TLSConfig holds the tls section's CA pool and client certificate, read
	// when the action compiled; nil without tls. Read-only: clone it to
	// change it.
	TLSConfig *tls.Config

	enabled bool
	budget  uint
	trigger *vm.Program
	url     urlTemplate
	payload *payloadNode // nil: the event is sent as it came
	// wholeEnv: an expression uses $env as a whole, so events are decoded
	// the full way (lazy.go).
	wholeEnv bool
	// key is what the trigger requires of the event's event, name or type
	// field (keys.go), by which a Set indexes it.
	key triggerKey
}

// Batched reports whether the action gathers events into arrays.
func (c *Compiled) Batched() bool { return c.Batch != nil }

// Templated reports whether the URL depends on the event ({{ expr }} parts),
// so that batches must be grouped by resolved URL.
func (c *Compiled) Templated() bool { return len(c.url.parts) > 0 }

// Mapped reports whether the body is built from a payload mapping rather than
// sent as the event came.
func (c *Compiled) Mapped() bool { return c.payload != nil }
