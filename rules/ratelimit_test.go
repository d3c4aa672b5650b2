package rules

import (
	"strings"
	"testing"
)

func TestRateLimitBurstDefault(t *testing.T) {
	tests := []struct {
		rps   float64
		burst int
		want  int
	}{
		{20, 0, 20},
		{2.5, 0, 3},
		{0.2, 0, 1},
		{20, 5, 5},
	}
	for _, tt := range tests {
		a := valid()
		a.RateLimit = &RateLimit{RequestsPerSecond: tt.rps, Burst: tt.burst}
		c, err := Compile(a, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if c.RateLimit.Burst != tt.want || c.RateLimit.RequestsPerSecond != tt.rps {
			t.Errorf("rate_limit {%v, %d}: compiled %+v, want burst %d", tt.rps, tt.burst, *c.RateLimit, tt.want)
		}
		if a.RateLimit.Burst != tt.burst {
			t.Error("Compile changed the caller's RateLimit")
		}
	}
}

func TestRateLimitProblems(t *testing.T) {
	const file = `actions:
- id: slow
  trigger: type == "track"
  url: https://x.example.com/
  rate_limit:
    requests_per_second: 0
    burst: -2
- id: words
  trigger: type == "track"
  url: https://x.example.com/
  rate_limit: {requests_per_second: fast, per: minute}
- id: absent
  trigger: type == "track"
  url: https://x.example.com/
  rate_limit: {burst: 3}
`
	_, err := LoadYAML([]byte(file), "rules.yaml", Options{})
	want := []string{
		`rules.yaml:6: action "slow": rate_limit.requests_per_second 0: want a number above 0`,
		`rules.yaml:7: action "slow": rate_limit.burst -2: want 1 or more`,
		`rules.yaml:11: action "words": rate_limit.requests_per_second: want a number, got the string "fast"`,
		`rules.yaml:11: action "words": rate_limit.per: unknown field`,
		`rules.yaml:15: action "absent": rate_limit.requests_per_second 0: want a number above 0`,
	}
	if err == nil {
		t.Fatal("LoadYAML accepted the file")
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("errors:\n%s\nlack:\n%s", err, w)
		}
	}
	if n := len(FieldErrors(err)); n != len(want) {
		t.Errorf("%d problems, want %d:\n%s", n, len(want), err)
	}
}

func TestRateLimitJSON(t *testing.T) {
	a, err := ParseJSON([]byte(`{"id":"a","trigger":"type == \"track\"","url":"https://x.example.com/","rate_limit":{"requests_per_second":0.5}}`))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Compile(a, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.RateLimit == nil || c.RateLimit.RequestsPerSecond != 0.5 || c.RateLimit.Burst != 1 {
		t.Errorf("rate_limit = %+v", c.RateLimit)
	}
	if _, err := ParseJSON([]byte(`{"id":"a","rate_limit":{"requests_per_second":"5"}}`)); err == nil ||
		!strings.Contains(err.Error(), `rate_limit.requests_per_second: want a number, got the string "5"`) {
		t.Errorf("a quoted number: %v", err)
	}
}
