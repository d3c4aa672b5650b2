package topic

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/hookstream/hookstream/internal/telemetry"
	"github.com/hookstream/hookstream/rules"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Config is everything a Follower needs. Zero values are documented defaults.
type Config struct {
	// Opts connect the client: seed brokers, TLS, SASL, logger. The
	// follower sets the topic, offsets and isolation itself.
	Opts []kgo.Opt
	// Topic is the rules topic. Default DefaultTopic.
	Topic string
	// Store receives every new version of the actions (required). The
	// follower replaces what it holds once caught up.
	Store *rules.Store
	// Compile are the options actions are compiled with: the same as for
	// a rules file (Getenv resolves "${env:NAME}").
	Compile rules.Options
	// Logger receives changes, refusals and errors. Nil discards them.
	Logger *slog.Logger
	// Metrics counts refusals in hookstream_rules_rejected_total. Nil
	// records nothing.
	Metrics *telemetry.Metrics
	// Retry is how long to wait before asking the brokers again after a
	// failed listing or fetch. Default 1s.
	Retry time.Duration
}

// Follower reads the rules topic to its end, installs the actions in the
// Store, then follows the topic and installs every change.
type Follower struct {
	cfg     Config
	log     *slog.Logger
	metrics *telemetry.Metrics
	ready   chan struct{} // closed once caught up
	done    chan struct{} // closed when Run returns
	err     error         // why Run returned; read after done

	// Owned by Run's goroutine.
	actions map[string]*rules.Compiled // the running version of each action
	raw     map[string][]byte          // the record value it came from
	refused map[string]refusal         // while catching up: refusals not yet replaced
}

// refusal is an invalid record, reported once catching up ends unless a
// later record of the same key replaced it.
type refusal struct {
	rec    *kgo.Record
	reason string
}

// New checks cfg and returns a Follower; Run starts it.
func New(cfg Config) (*Follower, error) {
	if cfg.Store == nil {
		return nil, errors.New("rules topic follower: store: required")
	}
	if cfg.Topic == "" {
		cfg.Topic = DefaultTopic
	}
	if cfg.Retry <= 0 {
		cfg.Retry = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = telemetry.Noop()
	}
	return &Follower{
		cfg:     cfg,
		log:     cfg.Logger.With("topic", cfg.Topic),
		metrics: cfg.Metrics,
		ready:   make(chan struct{}),
		done:    make(chan struct{}),
		actions: map[string]*rules.Compiled{},
		raw:     map[string][]byte{},
		refused: map[string]refusal{},
	}, nil
}

// Ready blocks until the topic was read to its end and its actions are in
// the Store, or Run ended first (its error), or ctx ends. It suits
// processor.Config.Ready.
func (f *Follower) Ready(ctx context.Context) error {
	select {
	case <-f.ready:
		return nil
	case <-f.done:
		if f.err != nil {
			return f.err
		}
		return errors.New("rules topic follower stopped before it caught up")
	case <-ctx.Done():
		return ctx.Err()
	}
}

// CaughtUp reports, without blocking, whether Ready would return nil.
func (f *Follower) CaughtUp() bool {
	select {
	case <-f.ready:
		return true
	default:
		return false
	}
}

// Run reads the topic to its end, installs its actions and marks the
// follower ready, then follows the topic until ctx ends, installing each
// fetch's changes at once. Brokers that cannot be reached are asked again
// every Config.Retry. Run returns nil when ctx ends, and an error only if
// its client cannot be created. Run may be called once.
func (f *Follower) Run(ctx context.Context) error {
	defer close(f.done)
	cl, err := kgo.NewClient(consumeOpts(f.cfg.Opts, f.cfg.Topic)...)
	if err != nil {
		f.err = fmt.Errorf("rules topic %s: create client: %w", f.cfg.Topic, err)
		return f.err
	}
	defer cl.Close()

	start := time.Now()
	want, ok := f.listEnds(ctx, kadm.NewClient(cl))
	if !ok {
		return nil
	}
	caughtUp := false
	catchUp := func() {
		if caughtUp || !want.done() {
			return
		}
		caughtUp = true
		f.reportRefused()
		f.install()
		enabled := f.cfg.Store.Load().Enabled()
		f.log.Info("rules topic read", "actions", len(f.actions), "enabled", enabled,
			"took", time.Since(start).Round(time.Millisecond).String())
		if enabled == 0 {
			f.log.Warn("no enabled action on the rules topic: events are consumed and committed without deliveries until one is applied")
		}
		close(f.ready)
	}
	catchUp() // an empty topic
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil
		}
		failed := false
		fs.EachError(func(t string, p int32, err error) {
			failed = true
			f.log.Warn("read rules topic", "partition", p, "err", err)
		})
		var changes []change
		fs.EachRecord(func(r *kgo.Record) {
			want.seen(r.Partition, r.Offset)
			if r.Attrs.IsControl() {
				return
			}
			if what := f.apply(r, caughtUp); what != "" {
				changes = append(changes, change{r, what})
			}
		})
		if !caughtUp {
			catchUp()
		} else if len(changes) > 0 {
			f.install()
			for _, c := range changes {
				f.logChange(c)
			}
		}
		if failed && len(changes) == 0 {
			if !sleep(ctx, f.cfg.Retry) {
				return nil
			}
		}
	}
}

// listEnds lists the end offsets to reach, asking again until it works or
// ctx ends (false).
func (f *Follower) listEnds(ctx context.Context, adm *kadm.Client) (progress, bool) {
	for {
		want, err := endOffsets(ctx, adm, f.cfg.Topic)
		if err == nil {
			return want, true
		}
		if ctx.Err() != nil {
			return nil, false
		}
		f.log.Warn("list rules topic offsets; asking again", "in", f.cfg.Retry.String(), "err", err)
		if !sleep(ctx, f.cfg.Retry) {
			return nil, false
		}
	}
}

// apply takes one record into the follower's actions and returns the
// change it made: "added", "changed", "deleted", or "" for none. An
// invalid record changes nothing: it is refused at once when following,
// or, while catching up, kept to be reported unless a later record of its
// key replaces it.
func (f *Follower) apply(r *kgo.Record, following bool) string {
	id := string(r.Key)
	delete(f.refused, id)
	_, had := f.actions[id]
	if r.Value == nil {
		if !had {
			return ""
		}
		delete(f.actions, id)
		delete(f.raw, id)
		return "deleted"
	}
	if bytes.Equal(f.raw[id], r.Value) {
		return "" // written again as it was: keep the compiled action (and the sink's batches)
	}
	c, reason := f.compile(r)
	if reason != "" {
		if following {
			f.refuse(r, reason)
		} else {
			f.refused[id] = refusal{rec: r, reason: reason}
		}
		return ""
	}
	f.actions[id] = c
	f.raw[id] = r.Value
	if had {
		return "changed"
	}
	return "added"
}

// compile parses and compiles a record's action, or says why it is refused.
func (f *Follower) compile(r *kgo.Record) (*rules.Compiled, string) {
	if len(r.Key) == 0 {
		return nil, "record without a key: want the action id as key"
	}
	a, err := rules.ParseJSON(r.Value)
	if err != nil {
		return nil, err.Error()
	}
	if a.ID != string(r.Key) {
		return nil, fmt.Sprintf("key %q but id %q: want the action id as key", r.Key, a.ID)
	}
	c, err := rules.Compile(a, f.cfg.Compile)
	if err != nil {
		return nil, err.Error()
	}
	return c, ""
}

// refuse logs and counts an invalid record. The reason names fields and
// environment variables, never a header value or secret (rules.FieldError).
func (f *Follower) refuse(r *kgo.Record, reason string) {
	keeps := "no version (the action does not run)"
	if _, ok := f.actions[string(r.Key)]; ok {
		keeps = "the previous version"
	}
	f.log.Error("rule refused", "action", string(r.Key), "partition", r.Partition, "offset", r.Offset,
		"reason", reason, "running", keeps)
	f.metrics.RulesRejected.Add(context.Background(), 1)
}

// reportRefused refuses, in offset order, the records that were still the
// latest of their key when catching up ended.
func (f *Follower) reportRefused() {
	left := slices.SortedFunc(maps.Values(f.refused), func(a, b refusal) int {
		if a.rec.Partition != b.rec.Partition {
			return int(a.rec.Partition - b.rec.Partition)
		}
		return int(a.rec.Offset - b.rec.Offset)
	})
	for _, x := range left {
		f.refuse(x.rec, x.reason)
	}
	clear(f.refused)
}

// install swaps a new set holding the current actions into the Store.
func (f *Follower) install() {
	f.cfg.Store.Swap(rules.NewSet(slices.Collect(maps.Values(f.actions))...))
}

// change is one record that changed the actions, and how.
type change struct {
	rec  *kgo.Record
	what string // added, changed, deleted
}

// logChange logs one installed change, with how long after the record was
// written it took effect.
func (f *Follower) logChange(c change) {
	f.log.Info("rule changed", "action", string(c.rec.Key), "change", c.what,
		"partition", c.rec.Partition, "offset", c.rec.Offset,
		"after", time.Since(c.rec.Timestamp).Round(time.Millisecond).String(), "actions", len(f.actions))
}

// sleep waits d or until ctx ends (false).
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
