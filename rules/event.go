package rules

import "github.com/hookstream/hookstream/internal/deadletter"

// Event is a decoded source record in the Segment/Customer.io CDP shape. It is
// the environment triggers, payload mappings and URL templates see: fields by
// their JSON names. The raw record bytes are kept separately for pass-through.
//
// Fields not listed here are kept in the raw bytes (and so in pass-through
// deliveries) but are not visible to expressions.
type Event struct {
	Type              string         `json:"type" expr:"type"`
	UserID            any            `json:"userId" expr:"userId"`
	AnonymousID       any            `json:"anonymousId" expr:"anonymousId"`
	Event             string         `json:"event" expr:"event"`
	Name              string         `json:"name" expr:"name"`
	Properties        map[string]any `json:"properties" expr:"properties"`
	Traits            map[string]any `json:"traits" expr:"traits"`
	Context           map[string]any `json:"context" expr:"context"`
	GroupID           any            `json:"groupId" expr:"groupId"`
	PreviousID        any            `json:"previousId" expr:"previousId"`
	MessageID         string         `json:"messageId" expr:"messageId"`
	Timestamp         string         `json:"timestamp" expr:"timestamp"`
	OriginalTimestamp string         `json:"originalTimestamp" expr:"originalTimestamp"`
	SentAt            string         `json:"sentAt" expr:"sentAt"`
	ReceivedAt        string         `json:"receivedAt" expr:"receivedAt"`
	Channel           string         `json:"channel" expr:"channel"`
	Integrations      map[string]any `json:"integrations" expr:"integrations"`

	lazy lazyObjects // object fields not yet built (lazy.go)

	steps steps // work done by the running evaluation's loops (budget.go)
}

// PoisonError says why a record cannot be processed at all. Reason is the
// dead-letter reason: deadletter.ReasonDecode or deadletter.ReasonTooLarge.
type PoisonError struct {
	Reason deadletter.Reason
	Err    error
}

func (e *PoisonError) Error() string { return string(e.Reason) + ": " + e.Err.Error() }
func (e *PoisonError) Unwrap() error { return e.Err }

// DefaultMaxEventBytes is the largest record value Decode accepts when the
// caller passes maxBytes <= 0 (1 MiB, the SPEC's max_event_bytes default).
const DefaultMaxEventBytes = 1 << 20
