package sink

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header names of the signatures hookstream writes.
const (
	HeaderSignature        = "X-Signature"
	HeaderWebhookID        = "Webhook-Id"
	HeaderWebhookTimestamp = "Webhook-Timestamp"
	HeaderWebhookSignature = "Webhook-Signature"
)

// standardSecretPrefix marks a Standard Webhooks secret whose key is the
// base64 text after it.
const standardSecretPrefix = "whsec_"

// Sign returns the X-Signature value of body: the lowercase hex HMAC-SHA1 of
// the exact body bytes, keyed with secret exactly as written (a "whsec_"
// prefix is part of the key here).
func Sign(secret, body []byte) string { return sign(secret, whole(body)) }

// whole is a body already in one slice. Unlike a bytes.Reader it can be
// written any number of times, once per secret.
type whole []byte

func (b whole) WriteTo(w io.Writer) (int64, error) {
	n, err := w.Write(b)
	return int64(n), err
}

// sign is Sign of the bytes body writes, so a batch is signed from its
// events' own bytes without joining them first.
func sign(secret []byte, body io.WriterTo) string {
	m := hmac.New(sha1.New, secret)
	_, _ = body.WriteTo(m) // a hash never fails to write
	var sum [sha1.Size]byte
	return hex.EncodeToString(m.Sum(sum[:0]))
}

// VerifySignature reports whether sig is the X-Signature of body under
// secret. The comparison takes constant time; upper-case hex is refused
// because hookstream always writes lower case.
func VerifySignature(secret, body []byte, sig string) bool {
	want := Sign(secret, body)
	return subtle.ConstantTimeCompare([]byte(want), []byte(sig)) == 1
}

// StandardKey returns the HMAC-SHA256 key of a Standard Webhooks secret: for
// "whsec_<base64>" the decoded bytes, otherwise the secret as written. A
// "whsec_" secret whose rest is not base64 is also used as written, so a
// malformed secret still signs (and the receiver will say it does not match)
// rather than silently sending unsigned requests.
func StandardKey(secret []byte) []byte {
	rest, ok := bytes.CutPrefix(secret, []byte(standardSecretPrefix))
	if !ok {
		return secret
	}
	key := make([]byte, base64.StdEncoding.DecodedLen(len(rest)))
	n, err := base64.StdEncoding.Decode(key, rest)
	if err != nil {
		return secret
	}
	return key[:n]
}

// StandardSignature returns the webhook-signature header value of a Standard
// Webhooks message: one "v1,<base64 HMAC-SHA256 of id.timestamp.body>" per
// secret, space-separated, in the order given (several secrets let receivers
// rotate keys).
func StandardSignature(secrets [][]byte, id string, timestamp int64, body []byte) string {
	return standardSignature(secrets, id, timestamp, whole(body))
}

// standardSignature is StandardSignature of the bytes body writes.
func standardSignature(secrets [][]byte, id string, timestamp int64, body io.WriterTo) string {
	var b strings.Builder
	for i, s := range secrets {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("v1,")
		b.WriteString(base64.StdEncoding.EncodeToString(standardMAC(sha256.New, StandardKey(s), id, timestamp, body)))
	}
	return b.String()
}

func standardMAC(h func() hash.Hash, key []byte, id string, timestamp int64, body io.WriterTo) []byte {
	m := hmac.New(h, key)
	var ts [20]byte
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write(strconv.AppendInt(ts[:0], timestamp, 10))
	m.Write([]byte{'.'})
	_, _ = body.WriteTo(m)
	return m.Sum(nil)
}

// VerifyStandardSignature reports whether header (a webhook-signature value,
// possibly listing several signatures) holds a valid v1 signature of the
// message under any of secrets. Each comparison takes constant time.
func VerifyStandardSignature(secrets [][]byte, id string, timestamp int64, body []byte, header string) bool {
	for _, s := range secrets {
		want := standardMAC(sha256.New, StandardKey(s), id, timestamp, whole(body))
		for sig := range strings.FieldsSeq(header) {
			b64, ok := strings.CutPrefix(sig, "v1,")
			if !ok {
				continue
			}
			got, err := base64.StdEncoding.DecodeString(b64)
			if err == nil && hmac.Equal(got, want) {
				return true
			}
		}
	}
	return false
}

// Errors of VerifyStandardRequest.
var (
	ErrMissingHeaders = errors.New("missing webhook-id, webhook-timestamp or webhook-signature")
	ErrBadTimestamp   = errors.New("webhook-timestamp outside tolerance")
	ErrBadSignature   = errors.New("no matching signature")
)

// VerifyStandardRequest checks the Standard Webhooks headers of a received
// request: the timestamp must be within tolerance of now (which defends
// against replays) and one signature must match one of secrets.
func VerifyStandardRequest(secrets [][]byte, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	id, ts, sig := h.Get(HeaderWebhookID), h.Get(HeaderWebhookTimestamp), h.Get(HeaderWebhookSignature)
	if id == "" || ts == "" || sig == "" {
		return ErrMissingHeaders
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("webhook-timestamp %q: %w", ts, ErrBadTimestamp)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("webhook-timestamp %d is %s from now: %w", sec, d.Round(time.Second), ErrBadTimestamp)
	}
	if !VerifyStandardSignature(secrets, id, sec, body, sig) {
		return ErrBadSignature
	}
	return nil
}
