package rules

import (
	"encoding/json"
	"testing"
)

// BenchmarkBaselineStdlibDecode is the reference for BenchmarkDecodeMatch:
// what a naive worker does, decoding the same event into a generic map with
// encoding/json. Report DecodeMatch as a ratio of this, measured in the same
// run, since wall-clock figures on shared machines are noisy.
func BenchmarkBaselineStdlibDecode(b *testing.B) {
	b.SetBytes(int64(len(trackEvent)))
	b.ReportAllocs()
	for b.Loop() {
		var m map[string]any
		if err := json.Unmarshal(trackEvent, &m); err != nil {
			b.Fatal(err)
		}
	}
}
