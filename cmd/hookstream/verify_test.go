package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookstream/hookstream/sink"
)

// signatureVector is a message of the "both" section of the sink's published
// vectors: one body signed by both schemes.
type signatureVector struct {
	Name             string   `json:"name"`
	Secrets          []string `json:"secrets"`
	ID               string   `json:"id"`
	Timestamp        int64    `json:"timestamp"`
	BodyText         string   `json:"body_text"`
	XSignature       string   `json:"x_signature"`
	WebhookSignature string   `json:"webhook_signature"`
}

func signatureVectors(t *testing.T) []signatureVector {
	t.Helper()
	raw, err := os.ReadFile("../../sink/testdata/signatures.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Both []signatureVector `json:"both"`
	}
	if err := json.Unmarshal(raw, &v); err != nil || len(v.Both) == 0 {
		t.Fatalf("no vectors: %v", err)
	}
	return v.Both
}

// TestVerifyVectors runs `hookstream verify` on the published vectors, with
// the headers as flags and as a saved raw request, with the secrets in both
// orders (a receiver in the middle of a rotation), and on tampered copies.
func TestVerifyVectors(t *testing.T) {
	for _, v := range signatureVectors(t) {
		body := writeFile(t, "body.json", v.BodyText)
		ts := strconv.FormatInt(v.Timestamp, 10)
		flags := []string{"--signature", v.XSignature, "--webhook-id", v.ID, "--webhook-timestamp", ts,
			"--webhook-signature", v.WebhookSignature, "--tolerance", "0"}
		request := fmt.Sprintf("POST /hooks HTTP/1.1\r\nHost: hooks.example.com\r\nContent-Type: application/json\r\n"+
			"Content-Length: %d\r\nX-Signature: %s\r\nWebhook-Id: %s\r\nWebhook-Timestamp: %s\r\nWebhook-Signature: %s\r\n\r\n%s\n",
			len(v.BodyText), v.XSignature, v.ID, ts, v.WebhookSignature, v.BodyText)
		reversed := make([]string, len(v.Secrets))
		for i, s := range v.Secrets {
			reversed[len(v.Secrets)-1-i] = s
		}
		tests := []struct {
			name    string
			secrets []string
			args    []string
			code    int
			want    []string
		}{
			{"flags", v.Secrets, append([]string{"--body", body}, flags...), 0,
				[]string{"X-Signature: valid (secret 1 of", "webhook-signature: valid (secret 1 of"}},
			{"raw request", v.Secrets, []string{"--request", writeFile(t, "request.http", request), "--tolerance", "0"}, 0,
				[]string{"X-Signature: valid", "webhook-signature: valid"}},
			{"raw request with LF line ends", v.Secrets, []string{"--request", writeFile(t, "request.http", strings.ReplaceAll(request, "\r\n", "\n")), "--tolerance", "0"}, 0,
				[]string{"X-Signature: valid", "webhook-signature: valid"}},
			{"secrets in the other order", reversed, append([]string{"--body", body}, flags...), 0,
				[]string{fmt.Sprintf("X-Signature: valid (secret %d of %d", len(v.Secrets), len(v.Secrets)), "webhook-signature: valid"}},
			{"one more byte", v.Secrets, append([]string{"--body", writeFile(t, "body.json", v.BodyText+" ")}, flags...), 1,
				[]string{"X-Signature: INVALID", "webhook-signature: INVALID", "never a re-serialised one"}},
			{"upper-case hex", v.Secrets, []string{"--body", body, "--signature", strings.ToUpper(v.XSignature)}, 1,
				[]string{"X-Signature: INVALID: with secret 1 these " + strconv.Itoa(len(v.BodyText)) + " body bytes sign as " + v.XSignature}},
			{"stale timestamp", v.Secrets, append([]string{"--body", body}, flags[:len(flags)-2]...), 1,
				[]string{"webhook-signature: INVALID: webhook-timestamp is", "over the tolerance of 5m0s"}},
			{"wrong secret", []string{"not-the-secret"}, append([]string{"--body", body}, flags...), 1,
				[]string{"X-Signature: INVALID", "webhook-signature: INVALID"}},
		}
		for _, tt := range tests {
			t.Run(v.Name+"/"+tt.name, func(t *testing.T) {
				r := inProcess(t, map[string]string{"WEBHOOK_SECRETS": strings.Join(tt.secrets, " ")},
					append([]string{"verify", "--secret-env", "WEBHOOK_SECRETS"}, tt.args...)...)
				if r.code != tt.code {
					t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tt.code, r.stdout, r.stderr)
				}
				for _, w := range tt.want {
					if !strings.Contains(r.stdout, w) {
						t.Errorf("output does not say %q:\n%s", w, r.stdout)
					}
				}
				for _, s := range append(tt.secrets, v.Secrets...) {
					if strings.Contains(r.stdout+r.stderr, s) {
						t.Errorf("the output holds the secret %q", s)
					}
				}
			})
		}
	}
}

// TestVerifyChecksATimestampAgainstNow signs a body now, as a receiver
// gets it: within the tolerance it verifies without --tolerance 0.
func TestVerifyChecksATimestampAgainstNow(t *testing.T) {
	secrets := [][]byte{[]byte("whsec_c2VjcmV0LWtleS0x")}
	body := `{"type":"track","messageId":"m-1"}`
	now := time.Now().Unix()
	r := inProcess(t, map[string]string{"S": string(secrets[0])}, "verify", "--secret-env", "S",
		"--body", writeFile(t, "b.json", body), "--webhook-id", "k1", "--webhook-timestamp", strconv.FormatInt(now, 10),
		"--webhook-signature", sink.StandardSignature(secrets, "k1", now, []byte(body)))
	if r.code != 0 || !strings.Contains(r.stdout, "webhook-signature: valid (secret 1 of 1") {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestVerifyUsage(t *testing.T) {
	body := writeFile(t, "b.json", "{}")
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"no secret variable", nil, []string{"--body", body, "--signature", "00"}, "--secret-env NAME is required"},
		{"secret variable empty", map[string]string{"S": " "}, []string{"--secret-env", "S", "--body", body, "--signature", "00"}, "S is not set or empty"},
		{"no body", map[string]string{"S": "x"}, []string{"--secret-env", "S", "--signature", "00"}, "--request FILE or --body FILE is required"},
		{"nothing to verify", map[string]string{"S": "x"}, []string{"--secret-env", "S", "--body", body}, "nothing to verify"},
		{"request without a blank line", map[string]string{"S": "x"}, []string{"--secret-env", "S", "--request", writeFile(t, "r", "POST / HTTP/1.1\r\nX-Signature: 00\r\n")}, "no blank line"},
		{"short body", map[string]string{"S": "x"}, []string{"--secret-env", "S", "--request", writeFile(t, "r", "POST / HTTP/1.1\r\nContent-Length: 10\r\nX-Signature: 00\r\n\r\n{}")}, "Content-Length 10 but only 2 body bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := inProcess(t, tt.env, append([]string{"verify"}, tt.args...)...)
			if r.code != 2 || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", r.code, r.stderr, tt.want)
			}
		})
	}
}
