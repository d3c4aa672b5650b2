package sink

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// joined is a body built the plain way: the events' bytes in a JSON array.
func joined(items []item) []byte {
	parts := make([][]byte, len(items))
	for i, it := range items {
		parts[i] = it.body
	}
	return append(append([]byte{'['}, bytes.Join(parts, []byte{','})...), ']')
}

func TestBody(t *testing.T) {
	items := func(bodies ...string) []item {
		out := make([]item, len(bodies))
		for i, b := range bodies {
			out[i] = item{body: []byte(b)}
		}
		return out
	}
	large := strings.Repeat("x", 100_000)
	tests := []struct {
		name    string
		batched bool
		items   []item
		want    string
	}{
		{"unbatched: the event as it came", false, items(`{"a":1}`), `{"a":1}`},
		{"batched, one event", true, items(`{"a":1}`), `[{"a":1}]`},
		{"batched, three events", true, items(`{"a":1}`, `{}`, `{"b":[2]}`), `[{"a":1},{},{"b":[2]}]`},
		{"batched, large events", true, items(`"`+large+`"`, `"`+large+`"`), `["` + large + `","` + large + `"]`},
		{"unbatched halves of a split are arrays", false, items(`{}`, `{}`), `[{},{}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := bodyOf(tt.batched, tt.items)
			if b.Len() != len(tt.want) {
				t.Fatalf("Len = %d, want %d", b.Len(), len(tt.want))
			}
			var w bytes.Buffer
			if _, err := b.WriteTo(&w); err != nil || w.String() != tt.want {
				t.Fatalf("WriteTo wrote %.80q (err %v), want %.80q", w.String(), err, tt.want)
			}
			// Each attempt reads a fresh reader; small reads cross pieces.
			for range 2 {
				if err := iotest.TestReader(b.reader(), []byte(tt.want)); err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(iotest.OneByteReader(b.reader()))
				if err != nil || string(got) != tt.want {
					t.Fatalf("read one byte at a time: %.80q (err %v)", got, err)
				}
			}
			if got, want := sign([]byte("s"), b), Sign([]byte("s"), []byte(tt.want)); got != want {
				t.Fatalf("signature of the pieces %s, of the joined body %s", got, want)
			}
		})
	}
}
