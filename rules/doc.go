// Package rules defines, checks, compiles and runs hookstream's actions: which
// events each webhook wants (the trigger), where they go (the URL, possibly
// templated per event) and what is sent (the event as it came, or a payload
// mapping).
//
// # From text to a running action
//
// Actions come from a rules file (ParseYAML, LoadYAML, LoadFile: a top-level
// "actions:" list) or, one per record, from the rules topic (ParseJSON). Both
// go through one decoder built on YAML nodes, so unknown fields are refused and
// every problem carries its line. Compile then validates an action, fills in
// the defaults of SPEC §2 (so other packages never see a zero value; Batch
// stays nil for an unbatched action), resolves "${env:NAME}" in headers and
// secret_env through Options.Getenv, and compiles every expression once.
// Validation reports every problem at once, as an errors.Join of *FieldError:
//
//	rules.yaml:14: action "signups": batch.size 5000: want 1..1000
//
// Messages name environment variables but never show a header value or a
// secret.
//
// The settings of how an action reaches its endpoint are compiled too:
// rate_limit gets its default burst (ratelimit.go); auth's basic password
// and OAuth2 client secret are read from the environment into Secret values,
// which print, log and encode as "***" (auth.go, secret.go); tls's files are
// read and checked once, into Compiled.TLSConfig (tls.go), so that a bad
// file refuses the action naming the field and line rather than failing a
// handshake later. Options.ReadFile lets commands run away from the workers
// skip files that live only there (ErrFileElsewhere). A *Compiled is immutable and shared by all goroutines; a Set is one
// immutable version of all actions, swapped atomically in a Store when the
// rules change.
//
// # Which triggers run
//
// Most actions want one event name. When a trigger is compiled, its syntax
// tree (expr's ast package, read by a visitor in keys.go) tells what its
// top-level conjunction requires of the event's event, name or type field:
// `type == "track" && event == "Signed Up"` can only be true for a Signed Up
// event. A Set indexes its enabled actions by that (index.go), and
// Set.Match runs only the triggers an event's own event, name and type
// select, plus those that require nothing of them, so its cost follows the
// actions that want the event, not the number of actions. The result is
// exactly that of running every trigger, in the same order (a differential
// test and FuzzIndex hold it to that); a trigger the index rules out is not
// run, so a run-time error it would have raised on that event is not
// counted. The index is built with the Set (NewSet, With, Without), so a
// rules change swaps trigger and index together.
//
// # The event and the expression environment
//
// Decode turns a record value into an Event once per record; every trigger,
// URL template and payload expression of every action then reads that same
// Event, and the raw bytes are kept for pass-through bodies. On the hot path
// Set.Decode decodes lazily (lazy.go, scan.go): one validating pass takes
// the top-level fields and leaves properties, traits, context and
// integrations as bytes, built into maps only when an expression first reads
// them, which most triggers, testing type or event first, never do. It
// accepts and refuses exactly what Decode does. Decode refuses
// values that are too large, not UTF-8, not one JSON object, or have a known
// field of the wrong type, as a *PoisonError whose Reason is the dead-letter
// reason. It never panics.
//
// Expressions (github.com/expr-lang/expr) are compiled against the typed
// environment Event{}: the top-level CDP fields by their JSON names (type,
// event, userId, properties, traits, context, ...), with properties, traits,
// context and integrations as maps. Typing catches mistakes such as
// `type == 1` or an unknown name when the rule is loaded, not per event.
// expr's built-in type() is disabled, so `type` is the event's field.
//
// Member access is nil-safe: at compile time every member access is rewritten
// as if written with "?.", so `properties.plan.tier` on an event without
// properties is nil rather than an error. Comparing nil with a number
// (`properties.total > 10` when total is missing) is still a run-time error,
// which Match reports as a *TriggerError: the event does not match and the
// caller counts it. Write `(properties.total ?? 0) > 10` to avoid it.
//
// # Running on the hot path
//
// Programs are compiled once and shared; each goroutine brings its own
// *vm.VM, reused for every event (Match, Render and Set.Match take it as an
// argument). Set.Match appends to a caller-owned slice and allocates nothing
// itself; expr boxes each string field or map member a trigger reads (16
// bytes). Render returns the URL as written when it has no {{ }}, and the raw
// record bytes as the body when there is no payload, so a pass-through action
// costs nothing beyond its trigger. Each {{ expr }} value of a URL is
// path-escaped, or query-escaped after the "?", so an event cannot add path
// segments or query parameters; expressions may not appear in the host. A
// mapped payload is written straight into
// a reusable buffer with its keys in sorted order. A URL or payload failure is
// a *MappingError: the caller dead-letters the record with reason "mapping".
//
// # Limits
//
// Rules are configuration written by operators, but a mistake in one must not
// take a worker down. An expression may be at most MaxExprBytes long and
// MaxExprNodes nodes (expr.MaxNodes, counted while parsing); a payload at most
// MaxPayloadDepth deep with MaxPayloadLeaves expressions. At run time each
// evaluation has expr's memory budget (Options.MemoryBudget, default
// DefaultMemoryBudget), which stops ranges and collections that grow too
// large with an error instead of exhausting memory. The constructs the
// budget does not see are refused when the rule is compiled: repeat() (expr
// allocates its result before counting it), reduce() and let (a value that
// doubles at each step is never counted). Time is bounded by a step budget
// of the same size (budget.go): every loop is charged its iterations, and
// every event value read inside a loop its size, so a loop in a loop over a
// large array stops with ErrStepBudget instead of running for hours.
package rules
