package rules

import (
	"math"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// RateLimit caps the requests an action sends, for the whole consumer group
// (SPEC §2): each worker allows the share of the source partitions it owns,
// so that N workers together stay within the limit. It counts requests, not
// events: a batch is one request.
type RateLimit struct {
	RequestsPerSecond float64 `json:"requests_per_second" yaml:"requests_per_second"` // > 0
	// Burst is how many requests may go at once after a quiet spell.
	// Compile fills in the default: RequestsPerSecond rounded up, at least 1.
	Burst int `json:"burst,omitempty" yaml:"burst,omitempty"`
}

// DefaultBurst is the burst of a rate limit that sets none:
// requests_per_second rounded up, at least 1.
func DefaultBurst(rps float64) int {
	if !(rps > 0) || rps > math.MaxInt32 {
		return 1
	}
	return max(1, int(math.Ceil(rps)))
}

// withDefault returns a copy of r with the default burst filled in.
func (r *RateLimit) withDefault() *RateLimit {
	if r == nil {
		return nil
	}
	c := *r
	if c.Burst == 0 {
		c.Burst = DefaultBurst(c.RequestsPerSecond)
	}
	return &c
}

// checkRateLimit checks a rate limit whose defaults are filled in.
func checkRateLimit(r *RateLimit, add func(field, value, msg string)) {
	if r == nil {
		return
	}
	if rps := r.RequestsPerSecond; !(rps > 0) || math.IsInf(rps, 0) {
		add("rate_limit.requests_per_second", strconv.FormatFloat(rps, 'g', -1, 64), "want a number above 0")
	}
	if r.Burst < 1 {
		add("rate_limit.burst", strconv.Itoa(r.Burst), "want 1 or more")
	}
}

func (d *nodeDecoder) rateLimit(n *yaml.Node) *RateLimit {
	ps, ok := d.mapping(n, "rate_limit")
	if !ok {
		return nil
	}
	r := &RateLimit{}
	for _, p := range ps {
		field := "rate_limit." + p.key
		d.pos[field] = p.knode.Line
		v := resolve(p.val)
		switch p.key {
		case "requests_per_second":
			r.RequestsPerSecond = d.float(v, field)
		case "burst":
			r.Burst = d.int(v, field)
		default:
			d.fail(p.knode, field, "unknown field")
		}
	}
	return r
}

// float decodes a number (an integer or a decimal).
func (d *nodeDecoder) float(n *yaml.Node, field string) float64 {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return 0
	}
	var f float64
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") || n.Decode(&f) != nil {
		d.fail(n, field, "want a number, got "+kindOf(n))
		return 0
	}
	return f
}
