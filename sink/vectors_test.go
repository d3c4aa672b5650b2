package sink

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookstream/hookstream/rules"
)

// bothVector is one message of the "both" section of testdata/
// signatures.json: what hookstream sends for it with signature: standard,
// computed outside hookstream so that receivers can test their own code
// against it.
type bothVector struct {
	Name             string   `json:"name"`
	Secrets          []string `json:"secrets"` // as in the secret_env variable, space-separated
	ID               string   `json:"id"`
	Timestamp        int64    `json:"timestamp"`
	BodyText         string   `json:"body_text"`
	XSignature       string   `json:"x_signature"`
	WebhookSignature string   `json:"webhook_signature"`
}

func loadBothVectors(t *testing.T) []bothVector {
	t.Helper()
	raw, err := os.ReadFile("testdata/signatures.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Both []bothVector `json:"both"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Both) == 0 {
		t.Fatal("testdata/signatures.json holds no vectors for both schemes")
	}
	return v.Both
}

// referenceSignatures computes both headers with nothing but the standard
// library, the way a receiver in another language would.
func referenceSignatures(t *testing.T, v bothVector) (xsig, whsig string) {
	t.Helper()
	m := hmac.New(sha1.New, []byte(v.Secrets[0]))
	m.Write([]byte(v.BodyText))
	xsig = hex.EncodeToString(m.Sum(nil))
	var sigs []string
	for _, s := range v.Secrets {
		key := []byte(s)
		if rest, ok := strings.CutPrefix(s, "whsec_"); ok {
			k, err := base64.StdEncoding.DecodeString(rest)
			if err != nil {
				t.Fatalf("vector %q: secret %q is not valid base64", v.Name, s)
			}
			key = k
		}
		m := hmac.New(sha256.New, key)
		m.Write([]byte(v.ID + "." + strconv.FormatInt(v.Timestamp, 10) + "." + v.BodyText))
		sigs = append(sigs, "v1,"+base64.StdEncoding.EncodeToString(m.Sum(nil)))
	}
	return xsig, strings.Join(sigs, " ")
}

// TestBothSchemesVectors is the drift test of the shared vectors: the file,
// an independent computation, hookstream's signing code, its verification
// code and the secret_env parsing of rules must all agree.
func TestBothSchemesVectors(t *testing.T) {
	for _, v := range loadBothVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			xsig, whsig := referenceSignatures(t, v)
			if xsig != v.XSignature || whsig != v.WebhookSignature {
				t.Fatalf("vector file drifted: the standard library gives %s and %s", xsig, whsig)
			}
			// The secrets as rules reads them from the environment.
			a := rules.Action{ID: "v", Trigger: "true", URL: "https://hooks.example.com/in",
				SecretEnv: "SECRETS", Signature: rules.SignatureStandard}
			c, err := rules.Compile(a, rules.Options{Getenv: func(string) string { return " " + strings.Join(v.Secrets, " ") + " " }})
			if err != nil {
				t.Fatal(err)
			}
			body := []byte(v.BodyText)
			if got := Sign(c.Secrets[0], body); got != v.XSignature {
				t.Errorf("Sign = %s, want %s", got, v.XSignature)
			}
			if got := StandardSignature(c.Secrets, v.ID, v.Timestamp, body); got != v.WebhookSignature {
				t.Errorf("StandardSignature = %s, want %s", got, v.WebhookSignature)
			}
			h := http.Header{}
			h.Set(HeaderWebhookID, v.ID)
			h.Set(HeaderWebhookTimestamp, strconv.FormatInt(v.Timestamp, 10))
			h.Set(HeaderWebhookSignature, v.WebhookSignature)
			now := time.Unix(v.Timestamp, 0).Add(time.Minute)
			for i, s := range c.Secrets {
				// A receiver holding any one of the rotated secrets accepts.
				if err := VerifyStandardRequest([][]byte{s}, h, body, now, 5*time.Minute); err != nil {
					t.Errorf("secret %d: VerifyStandardRequest: %v", i, err)
				}
			}
			if !VerifySignature(c.Secrets[0], body, v.XSignature) {
				t.Error("VerifySignature refused the vector")
			}
			if err := VerifyStandardRequest(c.Secrets, h, append(body, ' '), now, 5*time.Minute); err == nil {
				t.Error("VerifyStandardRequest accepted a body with one more byte")
			}
		})
	}
}

// TestSinkSendsTheVectors delivers each vector's body through a Sink at the
// vector's time and checks the headers the receiver gets: X-Signature is the
// published one, and webhook-signature is the published computation over
// the webhook-id the Sink chose.
func TestSinkSendsTheVectors(t *testing.T) {
	for _, v := range loadBothVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			rc := newReceiver(t, nil)
			s := newSink(t, Config{Now: func() time.Time { return time.Unix(v.Timestamp, 0) }})
			secrets := make([][]byte, len(v.Secrets))
			for i, sec := range v.Secrets {
				secrets[i] = []byte(sec)
			}
			a := testAction("vector", func(a *rules.Compiled) {
				a.Secrets = secrets
				a.Signature = rules.SignatureStandard
			})
			_, rec := event(1)
			d := newDones()
			if err := s.Send(t.Context(), a, rc.URL, []byte(v.BodyText), rec, d.fn("e1")); err != nil {
				t.Fatal(err)
			}
			got := rc.next(t)
			d.wait(t, 1)
			if got.body != v.BodyText {
				t.Fatalf("body changed on the way: %q", got.body)
			}
			if x := got.header.Get(HeaderSignature); x != v.XSignature {
				t.Errorf("X-Signature = %s, want %s", x, v.XSignature)
			}
			if ts := got.header.Get(HeaderWebhookTimestamp); ts != strconv.FormatInt(v.Timestamp, 10) {
				t.Errorf("webhook-timestamp = %s, want %d", ts, v.Timestamp)
			}
			same := v
			same.ID = got.header.Get(HeaderWebhookID)
			if _, want := referenceSignatures(t, same); got.header.Get(HeaderWebhookSignature) != want {
				t.Errorf("webhook-signature = %s, want %s", got.header.Get(HeaderWebhookSignature), want)
			}
		})
	}
}
