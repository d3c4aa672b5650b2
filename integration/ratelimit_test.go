package integration

import (
	"context"
	"fmt"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/hookstream/hookstream/internal/kafkatest"
)

// waitMembers blocks until group is stable with n members that each own
// some of the topic's parts partitions, or fails.
func waitMembers(t *testing.T, c *kafkatest.Cluster, group string, n, parts int) {
	t.Helper()
	kafkatest.Eventually(t, fmt.Sprintf("group %s to settle with %d members over %d partitions", group, n, parts), func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		groups, err := c.Admin.DescribeGroups(ctx, group)
		cancel()
		if err != nil || groups[group].State != "Stable" || len(groups[group].Members) != n {
			return false
		}
		owned, each := 0, true
		for _, m := range groups[group].Members {
			mine := 0
			if a, ok := m.Assigned.AsConsumer(); ok {
				for _, tp := range a.Topics {
					if tp.Topic == "events" {
						mine += len(tp.Partitions)
					}
				}
			}
			owned += mine
			each = each && mine > 0
		}
		return owned == parts && each
	})
}

// worstWindow returns the most requests in any one-second window.
func worstWindow(at []time.Time) int {
	slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	worst := 0
	for i, j := 0, 0; i < len(at); i++ {
		for j < len(at) && at[j].Sub(at[i]) < time.Second {
			j++
		}
		worst = max(worst, j-i)
	}
	return worst
}

// TestRateLimitForTheWholeGroup: three workers in one group together stay
// within an action's rate_limit in every one-second window, and a worker
// left alone after the others stop gets the whole budget.
func TestRateLimitForTheWholeGroup(t *testing.T) {
	const parts, rps, burst, n = 12, 50, 10, 240
	c := startCluster(t, parts)
	tl := newTally()
	rv := startReceiver(t, tl.answer)
	rules := rulesFor(`actions:
- id: limited
  trigger: "true"
  url: URL/limited
  max_in_flight: 8
  rate_limit: {requests_per_second: 50, burst: 10}
`, rv.URL)
	cfg := writeConfig(t, "commit_interval: 100ms\n")
	var ws []*worker
	for range 3 {
		ws = append(ws, startWorker(t, c, "g-limit", rules, fastGroup, "--config", cfg))
	}
	waitMembers(t, c, "g-limit", 3, parts)
	recs := trackRecords(2*n, parts)
	c.Produce(t, recs[:n]...)
	waitUnique(t, rv, tl, n)
	three := rv.requests()

	for _, w := range ws[1:] {
		if code := w.stop(t, syscall.SIGTERM); code != 0 {
			t.Fatalf("worker exit %d", code)
		}
	}
	waitMembers(t, c, "g-limit", 1, parts)
	c.Produce(t, recs[n:]...)
	waitUnique(t, rv, tl, 2*n)
	one := rv.requests()[len(three):]

	times := func(reqs []request) []time.Time {
		var at []time.Time
		for _, r := range reqs {
			at = append(at, r.At)
		}
		return at
	}
	rate := func(reqs []request) float64 {
		at := times(reqs)
		slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
		return float64(len(at)-1) / at[len(at)-1].Sub(at[0]).Seconds()
	}
	worstThree, worstOne := worstWindow(times(three)), worstWindow(times(one))
	t.Logf("limit %d/s, burst %d: three workers %.1f/s, worst one-second window %d; one worker %.1f/s, worst window %d",
		rps, burst, rate(three), worstThree, rate(one), worstOne)
	// Requests are timed where they arrive, a few milliseconds after the
	// limiter let them go and not all equally late: one request of
	// leeway for that.
	if worstThree > rps+burst+1 || worstOne > rps+burst+1 {
		t.Errorf("worst one-second windows %d (three workers) and %d (one), want at most %d (+1)", worstThree, worstOne, rps+burst)
	}
	// Alone, the worker sends at the group's rate: with the third it had
	// it would be under 20/s.
	if r := rate(one); r < 0.7*rps {
		t.Errorf("one worker alone sent %.1f/s, want the whole budget of %d/s", r, rps)
	}
	if r := rate(three); r < 0.5*rps {
		t.Errorf("three workers together sent %.1f/s, want close to the budget of %d/s", r, rps)
	}
}
