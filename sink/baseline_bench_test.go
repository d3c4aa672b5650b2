package sink

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// BenchmarkBaselineMarshalSign is the reference for BenchmarkBatchEncodeSign:
// a batch built the naive way, re-encoding 1000 decoded events with
// json.Marshal, then signed. Report the sink's figure as a ratio of this,
// measured in the same run.
func BenchmarkBaselineMarshalSign(b *testing.B) {
	pad := strings.Repeat("x", 310)
	events := make([]map[string]any, 1000)
	for i := range events {
		raw := fmt.Appendf(nil, `{"type":"track","messageId":"m-%d","userId":"u%d","properties":{"plan":"pro","note":%q}}`, i, i, pad)
		if err := json.Unmarshal(raw, &events[i]); err != nil {
			b.Fatal(err)
		}
	}
	secret := []byte("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	b.ReportAllocs()
	for b.Loop() {
		body, err := json.Marshal(events)
		if err != nil {
			b.Fatal(err)
		}
		mac := hmac.New(sha1.New, secret)
		mac.Write(body)
		_ = mac.Sum(nil)
	}
}
