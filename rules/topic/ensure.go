package topic

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// DefaultTopic is the rules topic's default name.
const DefaultTopic = "hookstream.rules"

// NotCompactedError is a rules topic whose cleanup.policy does not include
// compact: its actions would be deleted once the retention passed.
type NotCompactedError struct {
	Topic  string
	Policy string // the topic's cleanup.policy
}

func (e *NotCompactedError) Error() string {
	return fmt.Sprintf("rules topic %s has cleanup.policy=%s, want compact: actions would be deleted after the retention; "+
		"set cleanup.policy=compact on it (kafka-configs --alter --entity-type topics --entity-name %s --add-config cleanup.policy=compact) "+
		"or choose another rules topic", e.Topic, e.Policy, e.Topic)
}

// Ensure creates the rules topic, compacted with one partition and the
// broker's default replication, if it does not exist, and reports whether
// it did. A topic that exists but is not compacted is a *NotCompactedError.
// One partition keeps every change in one order; the topic holds one small
// record per action, so it never needs more.
func Ensure(ctx context.Context, adm *kadm.Client, topic string) (created bool, err error) {
	policy, err := cleanupPolicy(ctx, adm, topic)
	if errors.Is(err, kerr.UnknownTopicOrPartition) {
		resp, cerr := adm.CreateTopic(ctx, 1, -1, map[string]*string{"cleanup.policy": kadm.StringPtr("compact")}, topic)
		switch {
		case cerr == nil:
			return true, nil
		case errors.Is(cerr, kerr.TopicAlreadyExists): // another worker was first
			policy, err = cleanupPolicy(ctx, adm, topic)
		default:
			if resp.ErrMessage != "" {
				cerr = fmt.Errorf("%w: %s", cerr, resp.ErrMessage)
			}
			return false, fmt.Errorf("create rules topic %s: %w", topic, cerr)
		}
	}
	if err != nil {
		return false, err
	}
	if !compacted(policy) {
		return false, &NotCompactedError{Topic: topic, Policy: policy}
	}
	return false, nil
}

// cleanupPolicy returns the topic's cleanup.policy, or an error wrapping
// kerr.UnknownTopicOrPartition when the topic does not exist.
func cleanupPolicy(ctx context.Context, adm *kadm.Client, topic string) (string, error) {
	rcs, err := adm.DescribeTopicConfigs(ctx, topic)
	if err != nil {
		return "", fmt.Errorf("describe rules topic %s: %w", topic, err)
	}
	rc, err := rcs.On(topic, nil)
	if err == nil {
		err = rc.Err
	}
	if err != nil {
		return "", fmt.Errorf("describe rules topic %s: %w", topic, err)
	}
	for _, c := range rc.Configs {
		if c.Key == "cleanup.policy" {
			return c.MaybeValue(), nil
		}
	}
	return "delete", nil // Kafka's default when the broker does not say
}

// compacted reports whether a cleanup.policy list includes compact
// ("compact" or "compact,delete").
func compacted(policy string) bool {
	for p := range strings.SplitSeq(policy, ",") {
		if strings.TrimSpace(p) == "compact" {
			return true
		}
	}
	return false
}
