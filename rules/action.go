package rules

import (
	"encoding/json"
	"fmt"
	"time"
)

// Action is one webhook Send action as written in a rules file or on the rules
// topic. Zero values mean "use the default" (the Default* constants); Compile
// fills them in.
type Action struct {
	ID          string            `json:"id" yaml:"id"`
	Trigger     string            `json:"trigger" yaml:"trigger"`
	URL         string            `json:"url" yaml:"url"`
	Method      string            `json:"method,omitempty" yaml:"method,omitempty"`
	Headers     map[string]string `json:"headers,omitempty" yaml:"headers,omitempty"`
	Payload     map[string]any    `json:"payload,omitempty" yaml:"payload,omitempty"`
	SecretEnv   string            `json:"secret_env,omitempty" yaml:"secret_env,omitempty"`
	Batch       *Batch            `json:"batch,omitempty" yaml:"batch,omitempty"`
	Timeout     Duration          `json:"timeout,omitempty" yaml:"timeout,omitempty"`
	MaxInFlight int               `json:"max_in_flight,omitempty" yaml:"max_in_flight,omitempty"`
	Retry       Retry             `json:"retry,omitzero" yaml:"retry,omitempty"`
	Breaker     Breaker           `json:"breaker,omitzero" yaml:"breaker,omitempty"`
	Signature   string            `json:"signature,omitempty" yaml:"signature,omitempty"`
	RateLimit   *RateLimit        `json:"rate_limit,omitempty" yaml:"rate_limit,omitempty"`
	Auth        *Auth             `json:"auth,omitempty" yaml:"auth,omitempty"`
	TLS         *TLS              `json:"tls,omitempty" yaml:"tls,omitempty"`
	Enabled     *bool             `json:"enabled,omitempty" yaml:"enabled,omitempty"`
}

// Batch gathers events into one request. An action without Batch sends one
// event per request.
type Batch struct {
	Size     int      `json:"size,omitempty" yaml:"size,omitempty"`           // 1..1000, default 1000
	Wait     Duration `json:"wait,omitempty" yaml:"wait,omitempty"`           // default 1s
	MaxBytes int      `json:"max_bytes,omitempty" yaml:"max_bytes,omitempty"` // 0 = no cap
}

// Retry bounds how long a failing request is retried.
type Retry struct {
	MaxDuration    Duration `json:"max_duration,omitempty" yaml:"max_duration,omitempty"`       // default 1h
	InitialBackoff Duration `json:"initial_backoff,omitempty" yaml:"initial_backoff,omitempty"` // default 250ms
	MaxBackoff     Duration `json:"max_backoff,omitempty" yaml:"max_backoff,omitempty"`         // default 30s
	ParkAfter      Duration `json:"park_after,omitempty" yaml:"park_after,omitempty"`           // default 30s
}

// Breaker configures the action's circuit breaker.
type Breaker struct {
	Failures int      `json:"failures,omitempty" yaml:"failures,omitempty"` // default 5
	OpenFor  Duration `json:"open_for,omitempty" yaml:"open_for,omitempty"` // default 10s
}

// Duration is a time.Duration written as a Go duration string ("200ms", "1h").
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON writes d as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a duration string such as \"200ms\" or \"1h\", got %s", b)
	}
	return d.parse(s)
}

// MarshalYAML writes d as a Go duration string.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// UnmarshalText reads a Go duration string (used by YAML).
func (d *Duration) UnmarshalText(b []byte) error { return d.parse(string(b)) }

func (d *Duration) parse(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("want a duration such as \"200ms\" or \"1h\", got %q", s)
	}
	if v < 0 {
		return fmt.Errorf("want a positive duration, got %q", s)
	}
	*d = Duration(v)
	return nil
}
