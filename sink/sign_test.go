package sink

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

type signatureVectors struct {
	XSignature []struct {
		Name      string `json:"name"`
		KeyHex    string `json:"key_hex"`
		KeyText   string `json:"key_text"`
		DataHex   string `json:"data_hex"`
		DataText  string `json:"data_text"`
		Signature string `json:"signature"`
	} `json:"x_signature"`
	Standard []struct {
		Name      string   `json:"name"`
		Secrets   []string `json:"secrets"`
		ID        string   `json:"id"`
		Timestamp int64    `json:"timestamp"`
		BodyText  string   `json:"body_text"`
		Signature string   `json:"signature"`
	} `json:"standard"`
}

func loadVectors(t *testing.T) signatureVectors {
	t.Helper()
	raw, err := os.ReadFile("testdata/signatures.json")
	if err != nil {
		t.Fatal(err)
	}
	var v signatureVectors
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.XSignature) == 0 || len(v.Standard) == 0 {
		t.Fatal("testdata/signatures.json holds no vectors")
	}
	return v
}

func hexOrText(t *testing.T, h, text string) []byte {
	t.Helper()
	if h == "" {
		return []byte(text)
	}
	b, err := hex.DecodeString(h)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSignatureVectors is the drift test: the published vectors in testdata
// must keep matching Sign and StandardSignature, and an independent HMAC
// computed here must agree with the file.
func TestSignatureVectors(t *testing.T) {
	v := loadVectors(t)
	for _, c := range v.XSignature {
		t.Run(c.Name, func(t *testing.T) {
			key, data := hexOrText(t, c.KeyHex, c.KeyText), hexOrText(t, c.DataHex, c.DataText)
			m := hmac.New(sha1.New, key)
			m.Write(data)
			if ref := hex.EncodeToString(m.Sum(nil)); ref != c.Signature {
				t.Fatalf("vector file drifted: crypto/hmac gives %s, file says %s", ref, c.Signature)
			}
			if got := Sign(key, data); got != c.Signature {
				t.Fatalf("Sign = %s, want %s", got, c.Signature)
			}
			if !VerifySignature(key, data, c.Signature) {
				t.Fatal("VerifySignature refused the vector")
			}
			if VerifySignature(key, append(data, ' '), c.Signature) {
				t.Fatal("VerifySignature accepted a changed body")
			}
			if VerifySignature(key, data, strings.ToUpper(c.Signature)) {
				t.Fatal("VerifySignature accepted upper-case hex")
			}
		})
	}
	for _, c := range v.Standard {
		t.Run(c.Name, func(t *testing.T) {
			secrets := make([][]byte, len(c.Secrets))
			for i, s := range c.Secrets {
				secrets[i] = []byte(s)
			}
			body := []byte(c.BodyText)
			if got := StandardSignature(secrets, c.ID, c.Timestamp, body); got != c.Signature {
				t.Fatalf("StandardSignature = %s, want %s", got, c.Signature)
			}
			for i := range secrets {
				if !VerifyStandardSignature(secrets[i:i+1], c.ID, c.Timestamp, body, c.Signature) {
					t.Fatalf("secret %d alone does not verify", i)
				}
			}
			if VerifyStandardSignature(secrets, c.ID, c.Timestamp+1, body, c.Signature) {
				t.Fatal("verified with another timestamp")
			}
			if VerifyStandardSignature([][]byte{[]byte("whsec_b3RoZXI=")}, c.ID, c.Timestamp, body, c.Signature) {
				t.Fatal("verified with another secret")
			}
		})
	}
}

func TestStandardKey(t *testing.T) {
	cases := []struct {
		name, secret, want string
	}{
		{"whsec prefix is base64", "whsec_aGVsbG8=", "hello"},
		{"no prefix is used as written", "aGVsbG8=", "aGVsbG8="},
		{"bad base64 is used as written", "whsec_!!!", "whsec_!!!"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := string(StandardKey([]byte(c.secret))); got != c.want {
				t.Fatalf("StandardKey(%q) = %q, want %q", c.secret, got, c.want)
			}
		})
	}
}

func TestVerifyStandardRequest(t *testing.T) {
	secrets := [][]byte{[]byte("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")}
	body := []byte(`{"a":1}`)
	now := time.Unix(1_700_000_000, 0)
	header := func(ts int64, sig string) http.Header {
		h := http.Header{}
		h.Set("webhook-id", "msg_1")
		h.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
		h.Set("webhook-signature", sig)
		return h
	}
	good := StandardSignature(secrets, "msg_1", now.Unix(), body)
	cases := []struct {
		name string
		h    http.Header
		want error
	}{
		{"valid", header(now.Unix(), good), nil},
		{"valid among others", header(now.Unix(), "v1,AAAA "+good), nil},
		{"too old", header(now.Unix()-600, StandardSignature(secrets, "msg_1", now.Unix()-600, body)), ErrBadTimestamp},
		{"wrong signature", header(now.Unix(), "v1,AAAA"), ErrBadSignature},
		{"missing", http.Header{}, ErrMissingHeaders},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := VerifyStandardRequest(secrets, c.h, body, now, 5*time.Minute)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

func FuzzVerifySignature(f *testing.F) {
	f.Add([]byte("secret"), []byte(`{"a":1}`), "00")
	f.Fuzz(func(t *testing.T, secret, body []byte, sig string) {
		if VerifySignature(secret, body, sig) != (sig == Sign(secret, body)) {
			t.Fatal("VerifySignature disagrees with Sign")
		}
		_ = VerifyStandardSignature([][]byte{secret}, "id", 1, body, sig)
	})
}
