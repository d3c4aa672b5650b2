package dlq

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hookstream/hookstream/internal/deadletter"
)

// Filter selects dead letters. Its zero value selects every one.
type Filter struct {
	Actions []string            // any of these actions; none = every action
	Reasons []deadletter.Reason // any of these reasons; none = every reason
	Since   time.Time           // dead-lettered at or after; zero = from the start
	Until   time.Time           // dead-lettered at or before; zero = up to now
}

// Match reports whether l passes every part of f.
func (f *Filter) Match(l *Letter) bool {
	return (len(f.Actions) == 0 || slices.Contains(f.Actions, l.Action)) &&
		(len(f.Reasons) == 0 || slices.Contains(f.Reasons, l.Reason)) &&
		f.inTime(l.Time)
}

func (f *Filter) inTime(t time.Time) bool {
	return (f.Since.IsZero() || !t.Before(f.Since)) && (f.Until.IsZero() || !t.After(f.Until))
}

// ParseTime reads a --since or --until value: an RFC 3339 time
// ("2026-03-01T12:00:00Z"), or a duration before now ("90m", "2h", "7d").
func ParseTime(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n >= 0 {
			return now.AddDate(0, 0, -n), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%q: want an RFC 3339 time (2026-03-01T12:00:00Z) or a duration ago (90m, 2h, 7d)", s)
}
