package bench

import (
	"fmt"
	"strings"
	"time"

	"github.com/hookstream/hookstream/rules"
)

// secretEnv names the variable the default actions take their secret from;
// the benchmark resolves it itself, to Config.Secret.
const secretEnv = "HOOKSTREAM_BENCH_SECRET"

// defaultActions are the benchmark's rules: one batched, signed action that
// wants the share of events the generator makes "Order Completed", sent as
// they came; and two that match nothing the generator makes but whose
// triggers run on the track and identify events, as any trigger runs on
// the events it could want (one batched with a payload mapping, one
// unbatched with a URL template).
func defaultActions(url string, wait time.Duration) []rules.Action {
	base := strings.TrimSuffix(url, "/")
	return []rules.Action{
		{
			ID:        "bench-orders",
			Trigger:   `type == "track" && event == "` + MatchEvent + `"`,
			URL:       url,
			SecretEnv: secretEnv,
			Batch:     &rules.Batch{Size: 1000, Wait: rules.Duration(wait)},
		},
		{
			ID:        "bench-churn",
			Trigger:   `type == "track" && event == "Subscription Cancelled" && (properties.mrr ?? 0) > 100`,
			URL:       base + "/churn",
			SecretEnv: secretEnv,
			Batch:     &rules.Batch{Size: 500, Wait: rules.Duration(wait)},
			Payload:   map[string]any{"user": "userId", "mrr": "properties.mrr", "email": "traits.email"},
		},
		{
			ID:        "bench-vip",
			Trigger:   `type == "identify" && traits.plan == "vip" && context.locale == "de-DE"`,
			URL:       base + "/vip/{{ userId }}",
			SecretEnv: secretEnv,
		},
	}
}

// manyActions are the rules of Config.Actions = n: the default action that
// wants "Order Completed", and n-1 batched actions that each want a track
// event the generator never makes ("Custom Event <i>"), as a platform's
// rules topic holds one action per customer webhook.
func manyActions(url string, wait time.Duration, n int) []rules.Action {
	out := make([]rules.Action, 0, n)
	out = append(out, defaultActions(url, wait)[0])
	base := strings.TrimSuffix(url, "/")
	for i := 1; i < n; i++ {
		out = append(out, rules.Action{
			ID:        fmt.Sprintf("bench-custom-%05d", i),
			Trigger:   fmt.Sprintf(`type == "track" && event == "Custom Event %d"`, i),
			URL:       fmt.Sprintf("%s/custom/%d", base, i),
			SecretEnv: secretEnv,
			Batch:     &rules.Batch{Size: 1000, Wait: rules.Duration(wait)},
		})
	}
	return out
}

// compileDefault compiles the default actions (or, with n > 0, the n of
// manyActions) against url, signed with secret.
func compileDefault(url string, wait time.Duration, n int, secret []byte) (*rules.Set, error) {
	getenv := func(name string) string {
		if name == secretEnv {
			return string(secret)
		}
		return ""
	}
	actions := defaultActions(url, wait)
	if n > 0 {
		actions = manyActions(url, wait, n)
	}
	return rules.CompileAll(actions, rules.Options{Getenv: getenv})
}
