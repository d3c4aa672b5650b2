package sink

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hookstream/hookstream/internal/deadletter"
	"github.com/hookstream/hookstream/rules"
)

func TestUnbatchedRequest(t *testing.T) {
	rc := newReceiver(t, nil)
	s := newSink(t, Config{UserAgent: "hookstream/1.2.3"})
	d := newDones()
	a := testAction("crm", func(a *rules.Compiled) {
		a.Method = http.MethodPut
		a.Header = append(a.Header, [2]string{"X-Team", "growth"})
	})
	send(t, s, a, rc.URL+"/hooks/u-1", 1, d)
	got := rc.next(t)
	body, _ := event(1)
	if got.body != string(body) {
		t.Errorf("body = %s, want the event as it came: %s", got.body, body)
	}
	want := map[string]string{
		"Content-Type":  "application/json",
		"User-Agent":    "hookstream/1.2.3",
		"Authorization": "Bearer s3cr3t-token",
		"X-Team":        "growth",
	}
	for k, v := range want {
		if g := got.header.Get(k); g != v {
			t.Errorf("header %s = %q, want %q", k, g, v)
		}
	}
	if got.method != http.MethodPut || got.path != "/hooks/u-1" {
		t.Errorf("request %s %s, want PUT /hooks/u-1", got.method, got.path)
	}
	if k := got.header.Get("Idempotency-Key"); len(k) != 32 {
		t.Errorf("Idempotency-Key = %q, want 32 hex digits", k)
	}
	for _, h := range []string{HeaderSignature, HeaderWebhookSignature} {
		if v := got.header.Get(h); v != "" {
			t.Errorf("%s = %q without a secret", h, v)
		}
	}
	d.wait(t, 1)
	if n := d.count("e1"); n != 1 {
		t.Errorf("done called %d times", n)
	}
}

func TestSignatures(t *testing.T) {
	secrets := [][]byte{[]byte("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), []byte("second-secret")}
	cases := []struct {
		name     string
		sig      string
		standard bool
	}{
		{"x-signature only", "x-signature", false},
		{"standard webhooks too", "standard", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rc := newReceiver(t, nil)
			now := time.Unix(1_750_000_000, 0)
			s := newSink(t, Config{Now: func() time.Time { return now }})
			d := newDones()
			a := testAction("signed", func(a *rules.Compiled) {
				a.Secrets = secrets
				a.Signature = c.sig
				batched(3, time.Hour)(a)
			})
			for i := range 3 {
				send(t, s, a, rc.URL, i, d)
			}
			got := rc.next(t)

			m := hmac.New(sha1.New, secrets[0]) // the first secret exactly as written
			m.Write([]byte(got.body))
			if want := hex.EncodeToString(m.Sum(nil)); got.header.Get("X-Signature") != want {
				t.Errorf("X-Signature = %q, want %q", got.header.Get("X-Signature"), want)
			}
			id, ts := got.header.Get("webhook-id"), got.header.Get("webhook-timestamp")
			if !c.standard {
				if id != "" || ts != "" || got.header.Get("webhook-signature") != "" {
					t.Fatal("Standard Webhooks headers without signature: standard")
				}
				return
			}
			if id != got.header.Get("Idempotency-Key") || ts != "1750000000" {
				t.Errorf("webhook-id %q, webhook-timestamp %q", id, ts)
			}
			var want []string
			for _, key := range [][]byte{mustB64(t, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), []byte("second-secret")} {
				m := hmac.New(sha256.New, key)
				m.Write([]byte(id + "." + ts + "." + got.body))
				want = append(want, "v1,"+base64.StdEncoding.EncodeToString(m.Sum(nil)))
			}
			if g := got.header.Get("webhook-signature"); g != strings.Join(want, " ") {
				t.Errorf("webhook-signature = %q, want %q", g, strings.Join(want, " "))
			}
		})
	}
}

func mustB64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRetryThenSuccessKeepsKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t)
		rc := b.receiver(t, func(s seen) answer {
			if s.n < 2 {
				return answer{status: http.StatusInternalServerError}
			}
			return answer{status: http.StatusNoContent}
		})
		s := b.sink(t, Config{})
		d := newDones()
		a := testAction("retry", func(a *rules.Compiled) { a.Secrets = [][]byte{[]byte("k")} })
		send(t, s, a, rc.URL, 7, d)
		first := rc.next(t)
		for range 2 {
			again := rc.next(t)
			for _, h := range []string{"Idempotency-Key", "X-Signature"} {
				if again.header.Get(h) != first.header.Get(h) {
					t.Errorf("%s changed on retry: %q then %q", h, first.header.Get(h), again.header.Get(h))
				}
			}
			if again.body != first.body {
				t.Errorf("body changed on retry")
			}
		}
		d.wait(t, 1)
		rc.none(t, 50*time.Millisecond)
	})
}

func TestIdempotencyKeys(t *testing.T) {
	items := func(offsets ...int64) []item {
		var out []item
		for _, o := range offsets {
			_, rec := event(int(o))
			out = append(out, item{rec: rec})
		}
		return out
	}
	one := idempotencyKey("a", items(5), false)
	cases := []struct {
		name  string
		key   string
		equal bool
	}{
		{"same event, same key", idempotencyKey("a", items(5), false), true},
		{"other action", idempotencyKey("b", items(5), false), false},
		{"other offset", idempotencyKey("a", items(6), false), false},
		{"batch of one is not the event", idempotencyKey("a", items(5), true), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if (c.key == one) != c.equal {
				t.Fatalf("key %s vs %s: equal=%v, want %v", c.key, one, c.key == one, c.equal)
			}
		})
	}
	b := idempotencyKey("a", items(1, 2, 3, 4), true)
	if b != idempotencyKey("a", items(1, 2, 3, 4), true) {
		t.Error("batch key not stable")
	}
	if b == idempotencyKey("a", items(1, 2), true) || b == idempotencyKey("a", items(1, 3, 4), true) {
		t.Error("different batches share a key")
	}
}

func TestRetryAfterIsWaited(t *testing.T) {
	rc := newReceiver(t, func(s seen) answer {
		if s.n == 0 {
			return answer{status: http.StatusTooManyRequests, header: map[string]string{"Retry-After": "1"}}
		}
		return answer{status: http.StatusOK}
	})
	s := newSink(t, Config{})
	d := newDones()
	send(t, s, testAction("slow-down", nil), rc.URL, 1, d) // backoff alone would be 5ms
	first, second := rc.next(t), rc.next(t)
	if gap := second.at.Sub(first.at); gap < time.Second {
		t.Fatalf("second attempt %s after the 429, want at least the 1s Retry-After asked", gap)
	}
	d.wait(t, 1)
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name, v string
		want    time.Duration
	}{
		{"seconds", "120", 2 * time.Minute},
		{"http date", "Sun, 01 Mar 2026 12:00:30 GMT", 30 * time.Second},
		{"past date", "Sun, 01 Mar 2026 11:00:00 GMT", 0},
		{"absent", "", 0},
		{"garbage", "soon", 0},
		{"negative", "-5", 0},
		{"huge", "99999999999", maxRetryAfter},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := parseRetryAfter(c.v, now); got != c.want {
				t.Fatalf("parseRetryAfter(%q) = %s, want %s", c.v, got, c.want)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		status int
		want   class
	}{
		{200, classSuccess}, {204, classSuccess}, {299, classSuccess},
		{408, classRetry}, {429, classRetry}, {500, classRetry}, {503, classRetry},
		{413, classTooLarge},
		{400, classPermanent}, {401, classPermanent}, {404, classPermanent}, {302, classPermanent},
	}
	for _, c := range cases {
		t.Run(fmt.Sprint(c.status), func(t *testing.T) {
			if got := classify(c.status); got != c.want {
				t.Fatalf("classify(%d) = %d, want %d", c.status, got, c.want)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	p := retryPolicy{initial: 100 * time.Millisecond, max: time.Second}
	full := func(d time.Duration) time.Duration { return d }
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i, w := range want {
		if got := backoff(p, i+1, full); got != w*time.Millisecond {
			t.Errorf("backoff after %d failures = %s, want %s", i+1, got, w*time.Millisecond)
		}
	}
	if got := backoff(p, 500, full); got != time.Second {
		t.Errorf("backoff after 500 failures = %s, want the 1s cap", got)
	}
}

func TestOrderWithOneInFlight(t *testing.T) {
	rc := newReceiver(t, func(s seen) answer {
		if strings.Contains(s.body, `"e3"`) && s.n < 5 {
			return answer{status: http.StatusServiceUnavailable} // e3 fails twice
		}
		return answer{status: http.StatusOK}
	})
	s := newSink(t, Config{})
	d := newDones()
	a := testAction("ordered", nil)
	for i := range 20 {
		send(t, s, a, rc.URL, i, d)
	}
	d.wait(t, 20)
	var order []string
	for range 22 {
		got := rc.next(t)
		order = append(order, strings.Split(strings.Split(got.body, `"event":"`)[1], `"`)[0])
	}
	want := []string{"e0", "e1", "e2", "e3", "e3", "e3"}
	for i := 4; i < 20; i++ {
		want = append(want, fmt.Sprintf("e%d", i))
	}
	if strings.Join(order, " ") != strings.Join(want, " ") {
		t.Fatalf("requests in order\n%v\nwant\n%v", order, want)
	}
}

func TestBackPressure(t *testing.T) {
	release := make(chan struct{})
	rc := newReceiver(t, func(s seen) answer {
		<-release
		return answer{status: http.StatusOK}
	})
	s := newSink(t, Config{MaxBuffered: 2})
	d := newDones()
	a := testAction("slow", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var err error
	sent := 0
	for sent < 1000 && err == nil {
		body, rec := event(sent)
		if err = s.Send(ctx, a, rc.URL, body, rec, d.fn(fmt.Sprint(sent))); err == nil {
			sent++
		}
	}
	if err == nil || ctx.Err() == nil {
		t.Fatalf("Send never blocked: %d events taken, err %v", sent, err)
	}
	if sent > 2+inQueue {
		t.Errorf("took %d events, want at most MaxBuffered+%d", sent, inQueue)
	}
	close(release)
	d.wait(t, sent)
}

func TestTimeoutIsRetried(t *testing.T) {
	rc := newReceiver(t, func(s seen) answer {
		if s.n == 0 { // the endpoint hangs past the action's timeout
			select {
			case <-s.ctx.Done():
			case <-time.After(5 * time.Second):
			}
		}
		return answer{status: http.StatusOK}
	})
	s := newSink(t, Config{})
	d := newDones()
	a := testAction("hangs", func(a *rules.Compiled) { a.Timeout = rules.Duration(50 * time.Millisecond) })
	start := time.Now()
	send(t, s, a, rc.URL, 1, d)
	d.wait(t, 1)
	if took := time.Since(start); took > 4*time.Second {
		t.Fatalf("delivered after %s: the first request was not cut at the 50ms timeout", took)
	}
	if n := rc.count.Load(); n != 2 {
		t.Fatalf("%d requests, want the timed-out one and its retry", n)
	}
}

func TestBadURLIsRejected(t *testing.T) {
	cl := newCluster(t)
	s := newSink(t, Config{Producer: cl.producer})
	d := newDones()
	send(t, s, testAction("bad-url", nil), "ftp://files.example/hook", 1, d)
	d.wait(t, 1)
	r := cl.read(t, "hookstream.dlq", 1)[0]
	if reason, _ := header(r, deadletter.HeaderReason); reason != string(deadletter.ReasonRejected) {
		t.Fatalf("reason %q, want rejected", reason)
	}
}
