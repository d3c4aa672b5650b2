package sink_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hookstream/hookstream/sink"
)

// validSignature is what a receiver needs to check X-Signature, with the
// standard library alone: the lowercase hex HMAC-SHA1 of the raw body bytes,
// keyed with the shared secret exactly as written, compared in constant
// time. The README shows this function.
func validSignature(secret, body []byte, header string) bool {
	mac := hmac.New(sha1.New, secret)
	mac.Write(body)
	want := hex.EncodeToString(mac.Sum(nil))
	return hmac.Equal([]byte(want), []byte(header))
}

// receiver is a webhook endpoint for hookstream deliveries: read the raw
// body through a size limit, check the signature over exactly those bytes,
// and decode only then. Never verify a body decoded and encoded again: the
// bytes would differ (key order, spacing, escapes, numbers) and so would the
// signature.
func receiver(secret []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 16<<20))
		if err != nil {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		if !validSignature(secret, body, r.Header.Get("X-Signature")) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var events []json.RawMessage
		if len(body) > 0 && body[0] == '[' { // a batch
			if err := json.Unmarshal(body, &events); err != nil {
				http.Error(w, "bad JSON", http.StatusBadRequest)
				return
			}
		} else {
			events = []json.RawMessage{body}
		}
		for range events {
			// Handle each event; drop those whose messageId was seen
			// already: delivery is at least once.
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// A receiver checking X-Signature. The first request is signed as hookstream
// signs it; the second has the same JSON re-serialised with a space, which
// no longer matches.
func Example_receiver() {
	secret := []byte("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	srv := httptest.NewServer(receiver(secret))
	defer srv.Close()

	body := `[{"type":"track","event":"Signed Up","messageId":"m-1"}]`
	for _, sent := range []string{body, strings.Replace(body, `,"event"`, `, "event"`, 1)} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(sent))
		req.Header.Set("X-Signature", sink.Sign(secret, []byte(body))) // as hookstream signed the original
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		resp.Body.Close()
		fmt.Println(resp.StatusCode)
	}
	// Output:
	// 204
	// 401
}

// Checking the Standard Webhooks headers that `signature: standard` adds,
// with the receiver's list of secrets during a rotation. The timestamp must
// be recent, which refuses replays of old messages.
func ExampleVerifyStandardRequest() {
	secrets := [][]byte{[]byte("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")}
	body := []byte(`{"test": 2432232314}`)
	h := http.Header{}
	h.Set("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek")
	h.Set("webhook-timestamp", "1614265330")
	h.Set("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")

	sent := time.Unix(1614265330, 0)
	fmt.Println(sink.VerifyStandardRequest(secrets, h, body, sent.Add(time.Minute), 5*time.Minute))
	fmt.Println(sink.VerifyStandardRequest(secrets, h, body, sent.Add(time.Hour), 5*time.Minute))
	// Output:
	// <nil>
	// webhook-timestamp 1614265330 is 1h0m0s from now: webhook-timestamp outside tolerance
}

// Sign gives the X-Signature of a body; receivers compare it with
// VerifySignature, which takes constant time.
func ExampleVerifySignature() {
	secret := []byte("Jefe")
	body := []byte("what do ya want for nothing?")
	sig := sink.Sign(secret, body)
	fmt.Println(sig)
	fmt.Println(sink.VerifySignature(secret, body, sig), validSignature(secret, body, sig))
	fmt.Println(sink.VerifySignature(secret, body, strings.ToUpper(sig)))
	// Output:
	// effcdf6ae5eb2fa2d27416d5f184df9c259a7c79
	// true true
	// false
}

// TestREADMEShowsTheTestedVerifier keeps the README's verification snippet
// identical to validSignature above, which the examples run.
func TestREADMEShowsTheTestedVerifier(t *testing.T) {
	src, err := os.ReadFile("example_verify_test.go")
	if err != nil {
		t.Fatal(err)
	}
	start := bytes.Index(src, []byte("func validSignature("))
	end := bytes.Index(src[start:], []byte("\n}\n"))
	if start < 0 || end < 0 {
		t.Fatal("validSignature not found")
	}
	fn := src[start : start+end+2]
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(readme, fn) {
		t.Errorf("README.md does not show validSignature as tested:\n%s", fn)
	}
}
