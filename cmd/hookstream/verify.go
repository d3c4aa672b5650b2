package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hookstream/hookstream/sink"
)

// errInvalid ends `verify` with exit status 1 once it has said why.
var errInvalid = errors.New("signature does not match")

// verifyCmd is `hookstream verify`: it checks the signatures of one
// delivery, as a receiver must, so that people writing a receiver can
// compare their result with hookstream's. The secrets come from an
// environment variable (space-separated, as in secret_env) and are never
// printed; neither is anything derived from them but signatures.
func (c *cli) verifyCmd(args []string) error {
	fs := c.newFlagSet("verify", "verify --secret-env NAME (--request FILE | --body FILE [--signature HEX] [--webhook-id ID --webhook-timestamp UNIX --webhook-signature SIGS])")
	secretEnv := fs.String("secret-env", "", "`NAME` of the environment variable holding the secret(s), space-separated")
	request := fs.String("request", "", "a raw HTTP request as received, headers and body (`FILE`, - for stdin)")
	bodyFile := fs.String("body", "", "the request body exactly as received (`FILE`, - for stdin)")
	xsig := fs.String("signature", "", "the X-Signature header (`HEX`)")
	whID := fs.String("webhook-id", "", "the webhook-id header (`ID`)")
	whTS := fs.String("webhook-timestamp", "", "the webhook-timestamp header (`UNIX` seconds)")
	whSig := fs.String("webhook-signature", "", "the webhook-signature header (`SIGS`: v1,... entries)")
	tolerance := fs.Duration("tolerance", 5*time.Minute, "how far webhook-timestamp may be from now; 0 skips the check (for saved requests)")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if !isEnvName(*secretEnv) {
		return usagef("verify: --secret-env NAME is required (the variable holding the secret; a secret is never a flag)")
	}
	secrets := bytes.Fields([]byte(c.getenv(*secretEnv)))
	if len(secrets) == 0 {
		return usagef("verify: environment variable %s is not set or empty", *secretEnv)
	}
	var body []byte
	h := http.Header{}
	switch {
	case *request != "" && *bodyFile != "":
		return usagef("verify: give --request or --body, not both")
	case *request != "":
		raw, err := c.readInput(*request)
		if err != nil {
			return usagef("verify: --request: %w", err)
		}
		if body, h, err = parseRequest(raw); err != nil {
			return usagef("verify: --request %s: %w", *request, err)
		}
	case *bodyFile != "":
		b, err := c.readInput(*bodyFile)
		if err != nil {
			return usagef("verify: --body: %w", err)
		}
		body = b
	default:
		return usagef("verify: --request FILE or --body FILE is required")
	}
	for k, v := range map[string]string{sink.HeaderSignature: *xsig, sink.HeaderWebhookID: *whID,
		sink.HeaderWebhookTimestamp: *whTS, sink.HeaderWebhookSignature: *whSig} {
		if v != "" {
			h.Set(k, v)
		}
	}
	if h.Get(sink.HeaderSignature) == "" && h.Get(sink.HeaderWebhookSignature) == "" {
		return usagef("verify: nothing to verify: no X-Signature or webhook-signature")
	}
	ok := true
	if sig := h.Get(sink.HeaderSignature); sig != "" {
		ok = c.verifyX(secrets, body, sig) && ok
	}
	if h.Get(sink.HeaderWebhookSignature) != "" {
		ok = c.verifyStandard(secrets, body, h, *tolerance) && ok
	}
	if !ok {
		return errInvalid
	}
	return nil
}

// verifyX checks X-Signature against each secret as written (hookstream
// signs with the first; a receiver in a rotation may hold both).
func (c *cli) verifyX(secrets [][]byte, body []byte, sig string) bool {
	for i, s := range secrets {
		if sink.VerifySignature(s, body, sig) {
			fmt.Fprintf(c.stdout, "X-Signature: valid (secret %d of %d, %d body bytes)\n", i+1, len(secrets), len(body))
			return true
		}
	}
	fmt.Fprintf(c.stdout, "X-Signature: INVALID: with secret 1 these %d body bytes sign as %s, not %s\n",
		len(body), sink.Sign(secrets[0], body), sig)
	fmt.Fprintln(c.stdout, "  (sign the raw body as received, never a re-serialised one; hex is lowercase)")
	return false
}

// verifyStandard checks the Standard Webhooks headers.
func (c *cli) verifyStandard(secrets [][]byte, body []byte, h http.Header, tolerance time.Duration) bool {
	id, tsText, sig := h.Get(sink.HeaderWebhookID), h.Get(sink.HeaderWebhookTimestamp), h.Get(sink.HeaderWebhookSignature)
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if id == "" || err != nil {
		fmt.Fprintf(c.stdout, "webhook-signature: INVALID: need webhook-id and a webhook-timestamp in Unix seconds (got %q, %q)\n", id, tsText)
		return false
	}
	age := time.Since(time.Unix(ts, 0)).Round(time.Second)
	if tolerance > 0 && (age > tolerance || age < -tolerance) {
		fmt.Fprintf(c.stdout, "webhook-signature: INVALID: webhook-timestamp is %s from now, over the tolerance of %s (--tolerance 0 skips this check)\n", age, tolerance)
		return false
	}
	for i, s := range secrets {
		if sink.VerifyStandardSignature([][]byte{s}, id, ts, body, sig) {
			fmt.Fprintf(c.stdout, "webhook-signature: valid (secret %d of %d, timestamp %s old)\n", i+1, len(secrets), age)
			return true
		}
	}
	fmt.Fprintf(c.stdout, "webhook-signature: INVALID: no entry matches; with these secrets it would be %s\n",
		sink.StandardSignature(secrets, id, ts, body))
	fmt.Fprintln(c.stdout, "  (HMAC-SHA256 of id.timestamp.body; a whsec_ secret's key is the base64 after the prefix)")
	return false
}

// parseRequest reads a raw HTTP/1.1 request: its headers, and its body as
// received. Line endings may be CRLF or LF (a request saved by hand).
func parseRequest(raw []byte) ([]byte, http.Header, error) {
	head, body, found := bytes.Cut(raw, []byte("\r\n\r\n"))
	if !found {
		if head, body, found = bytes.Cut(raw, []byte("\n\n")); !found {
			return nil, nil, errors.New("no blank line between the headers and the body")
		}
	}
	h := http.Header{}
	sc := bufio.NewScanner(bytes.NewReader(head))
	first := true
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if first && strings.Contains(line, "HTTP/") {
			first = false
			continue // the request line
		}
		first = false
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return nil, nil, fmt.Errorf("header line %q has no colon", line)
		}
		h.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	if cl := h.Get("Content-Length"); cl != "" {
		n, err := strconv.Atoi(cl)
		if err != nil || n < 0 {
			return nil, nil, fmt.Errorf("Content-Length %q", cl)
		}
		if n > len(body) {
			return nil, nil, fmt.Errorf("Content-Length %d but only %d body bytes", n, len(body))
		}
		body = body[:n] // a file saved with a trailing newline
	}
	return body, h, nil
}

// isEnvName reports whether s is [A-Za-z_][A-Za-z0-9_]*.
func isEnvName(s string) bool {
	for i, r := range s {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return s != ""
}
