package sink

import (
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sampleEvents returns the CDP sample events of the rules package, the
// bodies hookstream signs most.
func sampleEvents(f *testing.F) [][]byte {
	f.Helper()
	paths, err := filepath.Glob("../rules/testdata/events/*.json")
	if err != nil || len(paths) == 0 {
		f.Fatalf("no sample events: %v", err)
	}
	var out [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// FuzzStandardSignature signs arbitrary bodies with arbitrary secret lists
// (as read from the environment: space-separated, whsec_ or not) and checks
// the receiver's side against it: every secret alone verifies its own
// signature, another timestamp or body does not, and no header a sender
// could write makes verification panic or accept what Sign did not produce
// for one of the secrets.
func FuzzStandardSignature(f *testing.F) {
	for i, body := range sampleEvents(f) {
		f.Add("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw plain-old-secret", "msg_"+strconv.Itoa(i), int64(1_772_438_400), body, "v1,AAAA v2,x")
	}
	f.Add("whsec_!!! whsec_ whsec_====", "", int64(-1), []byte{}, "v1, v1,,, ,v1")
	f.Add("s3crét\x00\xff", "id.with.dots", int64(1<<62), []byte("\xff\xfe"), "v1,"+strings.Repeat("A", 1000))
	f.Fuzz(func(t *testing.T, secretsLine, id string, ts int64, body []byte, header string) {
		var secrets [][]byte
		for s := range strings.FieldsSeq(secretsLine) {
			secrets = append(secrets, []byte(s))
		}
		// Whatever a sender writes, checking it must not panic, and a
		// match must be a signature of one of the secrets.
		if VerifyStandardSignature(secrets, id, ts, body, header) {
			ok := false
			for sig := range strings.FieldsSeq(header) {
				b64, _ := strings.CutPrefix(sig, "v1,")
				mac, err := base64.StdEncoding.DecodeString(b64)
				if err != nil {
					continue
				}
				// base64 allows several spellings of the same bytes;
				// compare the canonical one.
				canonical := "v1," + base64.StdEncoding.EncodeToString(mac)
				for _, s := range secrets {
					if canonical == StandardSignature([][]byte{s}, id, ts, body) {
						ok = true
					}
				}
			}
			if !ok {
				t.Fatalf("header %q verified without holding a signature of any secret", header)
			}
		}
		h := http.Header{}
		h.Set(HeaderWebhookID, id)
		h.Set(HeaderWebhookTimestamp, header)
		h.Set(HeaderWebhookSignature, header)
		_ = VerifyStandardRequest(secrets, h, body, time.Unix(1_772_438_400, 0), 5*time.Minute)
		if len(secrets) == 0 {
			return
		}
		sig := StandardSignature(secrets, id, ts, body)
		if n := len(strings.Fields(sig)); n != len(secrets) {
			t.Fatalf("%d signatures for %d secrets: %q", n, len(secrets), sig)
		}
		for i, s := range secrets {
			if !VerifyStandardSignature([][]byte{s}, id, ts, body, sig) {
				t.Fatalf("secret %d does not verify its own signature", i)
			}
		}
		if VerifyStandardSignature(secrets, id, ts+1, body, sig) {
			t.Fatal("verified with another timestamp")
		}
		if VerifyStandardSignature(secrets, id, ts, append(body[:len(body):len(body)], 0), sig) {
			t.Fatal("verified with another body")
		}
		x := Sign(secrets[0], body)
		if len(x) != 40 || strings.ToLower(x) != x || !VerifySignature(secrets[0], body, x) {
			t.Fatalf("X-Signature %q is not 40 lowercase hex digits that verify", x)
		}
	})
}
