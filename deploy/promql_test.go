package deploy_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// metricNames returns the metric names that a PromQL expression selects, in
// order of appearance, without duplicates. It is a lexer, not a parser: it
// skips string literals, label matchers ({...}), ranges and subqueries
// ([...]), grouping label lists (by/without/on/ignoring/group_left/
// group_right (...)), numbers, durations, Grafana variables ($name,
// ${name}) and the names of functions and aggregations; every other
// identifier is a metric name. That is all the tests need, and it avoids a
// dependency on the Prometheus module. Syntax is checked by promtool where it
// is installed (promtool_test.go).
func metricNames(expr string) ([]string, error) {
	var names []string
	add := func(n string) {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	l := lexer{s: expr}
	for {
		l.skipSpace()
		if l.done() {
			return names, nil
		}
		c := l.s[l.i]
		switch {
		case c == '#':
			l.skipComment()
		case c == '"' || c == '\'' || c == '`':
			if err := l.skipString(); err != nil {
				return nil, err
			}
		case c == '{':
			if err := l.skipMatchers(); err != nil {
				return nil, err
			}
		case c == '[':
			if err := l.skipUntil(']'); err != nil {
				return nil, err
			}
		case c == '$':
			l.skipVariable()
		case isDigit(c) || (c == '.' && l.i+1 < len(l.s) && isDigit(l.s[l.i+1])):
			l.skipNumber()
		case isIdentStart(c):
			id := l.ident()
			word := strings.ToLower(id)
			switch {
			case groupingKeywords[word]:
				l.skipSpace()
				if !l.done() && l.s[l.i] == '(' {
					if err := l.skipUntil(')'); err != nil {
						return nil, err
					}
				}
			case word == "offset":
				l.skipSpace()
				if !l.done() && l.s[l.i] == '-' {
					l.i++
				}
				l.skipNumber()
			case otherKeywords[word] || aggregations[word]:
			case l.peekNonSpace() == '(':
				// A function call.
			default:
				add(id)
			}
		default:
			l.i++ // operators, parentheses, commas
		}
	}
}

var (
	groupingKeywords = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true,
		"group_left": true, "group_right": true}
	otherKeywords = map[string]bool{"and": true, "or": true, "unless": true, "bool": true,
		"inf": true, "nan": true, "atan2": true}
	aggregations = map[string]bool{"sum": true, "min": true, "max": true, "avg": true, "group": true,
		"stddev": true, "stdvar": true, "count": true, "count_values": true, "bottomk": true,
		"topk": true, "quantile": true, "limitk": true, "limit_ratio": true}
)

type lexer struct {
	s string
	i int
}

func (l *lexer) done() bool { return l.i >= len(l.s) }

func (l *lexer) skipSpace() {
	for !l.done() && strings.IndexByte(" \t\r\n", l.s[l.i]) >= 0 {
		l.i++
	}
}

func (l *lexer) peekNonSpace() byte {
	j := l.i
	for j < len(l.s) && strings.IndexByte(" \t\r\n", l.s[j]) >= 0 {
		j++
	}
	if j == len(l.s) {
		return 0
	}
	return l.s[j]
}

func (l *lexer) skipComment() {
	for !l.done() && l.s[l.i] != '\n' {
		l.i++
	}
}

func (l *lexer) skipString() error {
	start, quote := l.i, l.s[l.i]
	for l.i++; !l.done(); l.i++ {
		switch {
		case l.s[l.i] == '\\' && quote != '`':
			l.i++
		case l.s[l.i] == quote:
			l.i++
			return nil
		}
	}
	return fmt.Errorf("string at offset %d is not closed", start)
}

// skipMatchers skips a label-matcher block. A __name__ matcher hides the
// metric name from this check, so it is refused: write the name instead.
func (l *lexer) skipMatchers() error {
	start := l.i
	for l.i++; !l.done(); {
		c := l.s[l.i]
		switch {
		case c == '}':
			l.i++
			return nil
		case c == '"' || c == '\'' || c == '`':
			if err := l.skipString(); err != nil {
				return err
			}
		case isIdentStart(c):
			if l.ident() == "__name__" {
				return fmt.Errorf("__name__ matcher at offset %d: select the metric by its name", start)
			}
		default:
			l.i++
		}
	}
	return fmt.Errorf("label matchers at offset %d are not closed", start)
}

// skipUntil skips a bracketed or parenthesized span, strings included.
func (l *lexer) skipUntil(closing byte) error {
	start, opening, depth := l.i, l.s[l.i], 0
	for !l.done() {
		c := l.s[l.i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			if err := l.skipString(); err != nil {
				return err
			}
			continue
		case c == opening:
			depth++
		case c == closing:
			depth--
			if depth == 0 {
				l.i++
				return nil
			}
		}
		l.i++
	}
	return fmt.Errorf("%q at offset %d is not closed", opening, start)
}

func (l *lexer) skipVariable() {
	l.i++ // $
	if !l.done() && l.s[l.i] == '{' {
		for !l.done() && l.s[l.i] != '}' {
			l.i++
		}
		l.i++
		return
	}
	l.ident()
}

// skipNumber skips a number or a duration: 0.99, 1e-3, 0x1f, 10m, 1h30m.
func (l *lexer) skipNumber() {
	for !l.done() {
		c := l.s[l.i]
		if (c == '-' || c == '+') && (l.s[l.i-1] == 'e' || l.s[l.i-1] == 'E') {
			l.i++
			continue
		}
		if !isDigit(c) && !isIdentChar(c) && c != '.' {
			return
		}
		l.i++
	}
}

func (l *lexer) ident() string {
	start := l.i
	for !l.done() && isIdentChar(l.s[l.i]) {
		l.i++
	}
	return l.s[start:l.i]
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isIdentStart(c byte) bool {
	return c == '_' || c == ':' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}
func isIdentChar(c byte) bool { return isIdentStart(c) || isDigit(c) }

func TestMetricNames(t *testing.T) {
	tests := []struct {
		name string
		expr string
		want []string
	}{
		{"bare", "hookstream_consumer_lag", []string{"hookstream_consumer_lag"}},
		{"matchers are not metrics", `hookstream_events_matched_total{action=~"$action", job="x"}`,
			[]string{"hookstream_events_matched_total"}},
		{"aggregation with grouping", `sum by (job) (max by (job, topic, partition) (hookstream_consumer_lag{topic=~"$topic"}))`,
			[]string{"hookstream_consumer_lag"}},
		{"grouping after the argument", `sum(rate(hookstream_deliveries_total[5m])) without (code)`,
			[]string{"hookstream_deliveries_total"}},
		{"histogram quantile", `histogram_quantile(0.99, sum by (le) (rate(hookstream_delivery_duration_seconds_bucket[$__rate_interval])))`,
			[]string{"hookstream_delivery_duration_seconds_bucket"}},
		{"subquery and scientific numbers", `deriv(sum(hookstream_consumer_lag)[10m:1m]) > 1e-3 and hookstream_consumer_lag > 1E+4`,
			[]string{"hookstream_consumer_lag"}},
		{"binary operators and vector matching", `a_total / on (action) group_left (job) b_total or vector(0)`,
			[]string{"a_total", "b_total"}},
		{"offset and strings", `rate(x_total[5m] offset 1h) unless label_replace(y, "dst", "$1", "src", "(.*)")`,
			[]string{"x_total", "y"}},
		{"keywords in any case", `x BOOL == 2 AND y`, []string{"x", "y"}},
		{"grafana variables", `sum(increase(x_total{job=~"$job"}[$__range])) / ${divisor}`, []string{"x_total"}},
		{"comments", "x # not_a_metric\n+ y", []string{"x", "y"}},
		{"duplicates once", `x / x`, []string{"x"}},
		{"recording rule names", `job:hookstream_lag:sum`, []string{"job:hookstream_lag:sum"}},
		{"no metric", `vector(1)`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := metricNames(tt.expr)
			if err != nil {
				t.Fatalf("metricNames(%q): %v", tt.expr, err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("metricNames(%q) = %q, want %q", tt.expr, got, tt.want)
			}
		})
	}
}

func TestMetricNamesErrors(t *testing.T) {
	tests := []struct {
		name string
		expr string
	}{
		{"unclosed matchers", `x{job="a"`},
		{"unclosed string", `x{job="a}`},
		{"unclosed range", `rate(x[5m)`},
		{"name matcher", `{__name__="hookstream_consumer_lag"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := metricNames(tt.expr); err == nil {
				t.Errorf("metricNames(%q) = %q, want an error", tt.expr, got)
			}
		})
	}
}
