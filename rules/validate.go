package rules

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// checkID reports whether id is 1..128 of [A-Za-z0-9._-].
func checkID(id string) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// checkMethod normalises and checks the HTTP method.
func checkMethod(m string) (string, bool) {
	u := strings.ToUpper(m)
	switch u {
	case "POST", "PUT", "PATCH", "DELETE":
		return u, true
	}
	return u, false
}

// quoted shortens and quotes a value for an error message.
func quoted(s string) string {
	const max = 64
	if len(s) > max {
		return strconv.Quote(s[:max]) + "..."
	}
	return strconv.Quote(s)
}

// checkSettings checks the numeric and duration settings of a (defaults
// already filled in).
func checkSettings(a *Action, add func(field, value, msg string)) {
	if b := a.Batch; b != nil {
		if b.Size < 1 || b.Size > MaxBatchSize {
			add("batch.size", strconv.Itoa(b.Size), fmt.Sprintf("want 1..%d", MaxBatchSize))
		}
		checkDuration("batch.wait", b.Wait, add)
		if b.MaxBytes < 0 {
			add("batch.max_bytes", strconv.Itoa(b.MaxBytes), "want 0 (no cap) or more")
		}
	}
	checkDuration("timeout", a.Timeout, add)
	if a.MaxInFlight < 1 || a.MaxInFlight > MaxMaxInFlight {
		add("max_in_flight", strconv.Itoa(a.MaxInFlight), fmt.Sprintf("want 1..%d", MaxMaxInFlight))
	}
	checkDuration("retry.max_duration", a.Retry.MaxDuration, add)
	checkDuration("retry.initial_backoff", a.Retry.InitialBackoff, add)
	checkDuration("retry.max_backoff", a.Retry.MaxBackoff, add)
	checkDuration("retry.park_after", a.Retry.ParkAfter, add)
	if a.Retry.InitialBackoff > a.Retry.MaxBackoff {
		add("retry.initial_backoff", a.Retry.InitialBackoff.String(), "want at most retry.max_backoff ("+a.Retry.MaxBackoff.String()+")")
	}
	if a.Breaker.Failures < 1 {
		add("breaker.failures", strconv.Itoa(a.Breaker.Failures), "want 1 or more")
	}
	checkDuration("breaker.open_for", a.Breaker.OpenFor, add)
}

func checkDuration(field string, d Duration, add func(field, value, msg string)) {
	if d < 0 {
		add(field, time.Duration(d).String(), "want a positive duration")
	}
}

// checkSecrets resolves secret_env into the shared secrets (space-separated,
// for rotation). The secret values never appear in a message.
func checkSecrets(a *Action, opt Options, add func(field, value, msg string)) [][]byte {
	if a.SecretEnv == "" {
		if a.Signature == SignatureStandard {
			add("signature", quoted(a.Signature), "needs secret_env")
		}
		return nil
	}
	if !validEnvName(a.SecretEnv) {
		add("secret_env", quoted(a.SecretEnv), "want an environment variable name")
		return nil
	}
	fields := strings.Fields(opt.getenv(a.SecretEnv))
	if len(fields) == 0 {
		add("secret_env", a.SecretEnv, "environment variable "+a.SecretEnv+" is not set or empty")
		return nil
	}
	secrets := make([][]byte, len(fields))
	for i, f := range fields {
		secrets[i] = []byte(f)
		if a.Signature == SignatureStandard {
			if rest, ok := strings.CutPrefix(f, "whsec_"); ok {
				if _, err := base64.StdEncoding.DecodeString(rest); err != nil {
					add("secret_env", a.SecretEnv, fmt.Sprintf("secret %d of %d is a whsec_ secret whose key is not valid base64", i+1, len(fields)))
				}
			}
		}
	}
	return secrets
}

// checkSignature checks the signature scheme.
func checkSignature(a *Action, add func(field, value, msg string)) {
	switch a.Signature {
	case SignatureX, SignatureStandard:
	default:
		add("signature", quoted(a.Signature), "want "+SignatureX+" or "+SignatureStandard)
	}
}
