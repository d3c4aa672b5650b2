package dlq

import (
	"testing"
	"time"

	"github.com/hookstream/hookstream/internal/deadletter"
)

func TestParseTime(t *testing.T) {
	now := time.Date(2026, 3, 10, 8, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"2026-03-01T12:00:00Z", time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)},
		{"2026-03-01T12:00:00.250+01:00", time.Date(2026, 3, 1, 11, 0, 0, 250e6, time.UTC)},
		{"2h", now.Add(-2 * time.Hour)},
		{"90m", now.Add(-90 * time.Minute)},
		{"0s", now},
		{"7d", now.AddDate(0, 0, -7)},
	} {
		got, err := ParseTime(tc.in, now)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "yesterday", "-2h", "2026-03-01", "3w", "-1d"} {
		if got, err := ParseTime(in, now); err == nil {
			t.Errorf("ParseTime(%q) = %v, want an error", in, got)
		}
	}
}

func TestFilterMatch(t *testing.T) {
	l := Letter{Time: t0, Action: "crm", Reason: deadletter.ReasonRejected}
	for _, tc := range []struct {
		name string
		f    Filter
		want bool
	}{
		{"zero filter", Filter{}, true},
		{"action", Filter{Actions: []string{"billing", "crm"}}, true},
		{"other action", Filter{Actions: []string{"billing"}}, false},
		{"reason", Filter{Reasons: []deadletter.Reason{deadletter.ReasonDecode, deadletter.ReasonRejected}}, true},
		{"other reason", Filter{Reasons: []deadletter.Reason{deadletter.ReasonDecode}}, false},
		{"since equal", Filter{Since: t0}, true},
		{"since after", Filter{Since: t0.Add(time.Millisecond)}, false},
		{"until equal", Filter{Until: t0}, true},
		{"until before", Filter{Until: t0.Add(-time.Millisecond)}, false},
		{"all parts", Filter{Actions: []string{"crm"}, Reasons: []deadletter.Reason{deadletter.ReasonRejected}, Since: t0.Add(-time.Hour), Until: t0.Add(time.Hour)}, true},
		{"all parts but one", Filter{Actions: []string{"crm"}, Reasons: []deadletter.Reason{deadletter.ReasonMapping}, Since: t0.Add(-time.Hour), Until: t0.Add(time.Hour)}, false},
	} {
		if got := tc.f.Match(&l); got != tc.want {
			t.Errorf("%s: Match = %v, want %v", tc.name, got, tc.want)
		}
	}
}
