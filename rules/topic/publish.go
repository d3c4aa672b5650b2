package topic

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hookstream/hookstream/rules"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Applied is what Apply did: the plan, and whether it created the topic.
type Applied struct {
	Plan
	Created bool
}

// Apply makes the rules topic hold a rules file's actions, already
// validated: it creates the topic (compacted) if it is missing, reads what
// it holds, and writes the plan's records (Diff), waiting until the brokers
// acknowledged them; with dryRun it writes nothing. opts connect the
// clients (seed brokers, TLS, SASL). A topic that exists but is not
// compacted is a *NotCompactedError, and nothing is written.
func Apply(ctx context.Context, opts []kgo.Opt, topic string, file []rules.Action, prune, dryRun bool) (Applied, error) {
	var done Applied
	var err error
	if done.Created, err = EnsureWith(ctx, opts, topic); err != nil {
		return Applied{}, err
	}
	current, err := Read(ctx, opts, topic)
	if err != nil {
		return done, err
	}
	if done.Plan, err = Diff(topic, current, file, prune); err != nil {
		return done, err
	}
	if !dryRun && len(done.Records) > 0 {
		if err := produce(ctx, opts, done.Records...); err != nil {
			return done, fmt.Errorf("publish %d records to %s: %w", len(done.Records), topic, err)
		}
	}
	return done, nil
}

// EnsureWith is Ensure through a client of its own, made with opts.
func EnsureWith(ctx context.Context, opts []kgo.Opt, topic string) (created bool, err error) {
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return false, fmt.Errorf("kafka client: %w", err)
	}
	defer cl.Close()
	return Ensure(ctx, kadm.NewClient(cl), topic)
}

// produce writes recs and waits until the brokers acknowledged them.
func produce(ctx context.Context, opts []kgo.Opt, recs ...*kgo.Record) error {
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("kafka client: %w", err)
	}
	defer cl.Close()
	return cl.ProduceSync(ctx, recs...).FirstErr()
}

// NoActionError is Delete's error when the topic has no such action.
type NoActionError struct {
	Topic, ID string
	Have      []string // the actions the topic has, sorted
}

func (e *NoActionError) Error() string {
	return fmt.Sprintf("no action %q on %s (it has %d: %s)", e.ID, e.Topic, len(e.Have), strings.Join(e.Have, ", "))
}

// Delete removes one action from the rules topic with a tombstone, once it
// has checked the topic holds it; if not, the error is a *NoActionError.
func Delete(ctx context.Context, opts []kgo.Opt, topic, id string) error {
	current, err := Read(ctx, opts, topic)
	if err != nil {
		return err
	}
	if _, ok := current[id]; !ok {
		return &NoActionError{Topic: topic, ID: id, Have: slices.Sorted(maps.Keys(current))}
	}
	if err := produce(ctx, opts, &kgo.Record{Topic: topic, Key: []byte(id)}); err != nil {
		return fmt.Errorf("publish the tombstone to %s: %w", topic, err)
	}
	return nil
}
