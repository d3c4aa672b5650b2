package sink

import "io"

// body is a request body read straight from its events' own bytes: the
// event itself when unbatched, else "[" e1 "," e2 ... "]" in arrival order.
// The events are never re-encoded — that is both the fastest way and the
// only one that keeps each event's bytes exactly as rendered — and never
// copied into one buffer either: a batch of large events would otherwise
// hold a second full copy of them for as long as it is retried, which
// against a failing endpoint is the whole retry.max_duration. Signing reads
// the same pieces (WriteTo) and each attempt reads them again (reader), so
// no attempt leaves anything behind.
type body struct {
	items   []item
	batched bool
}

func bodyOf(batched bool, items []item) body {
	return body{items: items, batched: batched || len(items) != 1}
}

// pieces is the number of pieces the body is made of.
func (b body) pieces() int {
	if !b.batched {
		return 1
	}
	if len(b.items) == 0 {
		return 2 // "[]"
	}
	return 2*len(b.items) + 1
}

var (
	openBracket  = []byte{'['}
	comma        = []byte{','}
	closeBracket = []byte{']'}
)

// piece returns the k-th piece: "[", then each event followed by "," or,
// after the last, "]".
func (b body) piece(k int) []byte {
	switch {
	case !b.batched:
		return b.items[0].body
	case k == 0:
		return openBracket
	case k == b.pieces()-1:
		return closeBracket
	case k%2 == 1:
		return b.items[k/2].body
	default:
		return comma
	}
}

// Len returns the body's length in bytes.
func (b body) Len() int {
	n := 0
	for k := range b.pieces() {
		n += len(b.piece(k))
	}
	return n
}

// WriteTo writes the body to w piece by piece.
func (b body) WriteTo(w io.Writer) (int64, error) {
	var n int64
	for k := range b.pieces() {
		m, err := w.Write(b.piece(k))
		n += int64(m)
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// reader returns a fresh reader of the body, for one attempt.
func (b body) reader() io.Reader { return &bodyReader{b: b} }

type bodyReader struct {
	b      body
	k, off int // the next byte is piece(k)[off]
}

func (r *bodyReader) Read(p []byte) (int, error) {
	n, end := 0, r.b.pieces()
	for n < len(p) && r.k < end {
		pc := r.b.piece(r.k)
		c := copy(p[n:], pc[r.off:])
		n += c
		r.off += c
		if r.off == len(pc) {
			r.k, r.off = r.k+1, 0
		}
	}
	if n == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	return n, nil
}
