package bench

import (
	"strings"
	"time"

	"github.com/hookstream/hookstream/rules"
)

// secretEnv names the variable the default actions take their secret from;
// the benchmark resolves it itself, to Config.Secret.
const secretEnv = "HOOKSTREAM_BENCH_SECRET"

// defaultActions are the benchmark's rules: one batched, signed action that
// wants the share of events the generator makes "Order Completed", sent as
// they came; and two that match nothing the generator makes but are
// evaluated on every event like any trigger (one batched with a payload
// mapping, one unbatched with a URL template).
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

// compileDefault compiles the default actions against url, signed with
// secret.
func compileDefault(url string, wait time.Duration, secret []byte) (*rules.Set, error) {
	getenv := func(name string) string {
		if name == secretEnv {
			return string(secret)
		}
		return ""
	}
	return rules.CompileAll(defaultActions(url, wait), rules.Options{Getenv: getenv})
}
