package bench

import (
	"bytes"
	"io"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/hookstream/hookstream/sink"
)

// Receiver is the benchmark's webhook endpoint. It reads each request,
// verifies its X-Signature with the shared secret, counts the events it
// carries and answers 204; a request without a valid signature gets 401
// and is counted as bad. It does as little as it can beyond that, because in
// the default set-up it shares the machine with the worker it measures.
type Receiver struct {
	secret []byte
	bufs   sync.Pool

	requests, events, bytes, bad, unsigned atomic.Int64
}

// NewReceiver returns a receiver that verifies with secret.
func NewReceiver(secret []byte) *Receiver {
	return &Receiver{secret: secret}
}

// maxBody bounds a request body: 1000 events of 64 KiB.
const maxBody = 64 << 20

// eventMarker occurs once in every CDP event: counting it counts the events
// of a body without decoding it.
var eventMarker = []byte(`"messageId"`)

func (rv *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	bp, _ := rv.bufs.Get().(*bytes.Buffer)
	if bp == nil {
		bp = new(bytes.Buffer)
	}
	defer rv.bufs.Put(bp)
	bp.Reset()
	if r.ContentLength > 0 && r.ContentLength <= maxBody {
		bp.Grow(int(r.ContentLength))
	}
	if _, err := bp.ReadFrom(io.LimitReader(r.Body, maxBody)); err != nil {
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	body := bp.Bytes()
	rv.requests.Add(1)
	sig := r.Header.Get(sink.HeaderSignature)
	switch {
	case sig == "":
		rv.unsigned.Add(1)
	case !sink.VerifySignature(rv.secret, body, sig):
		rv.bad.Add(1)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	rv.events.Add(int64(bytes.Count(body, eventMarker)))
	rv.bytes.Add(int64(len(body)))
	w.WriteHeader(http.StatusNoContent)
}

// ReceiverStats are a receiver's counts.
type ReceiverStats struct {
	Requests      int64 `json:"requests"`
	Events        int64 `json:"events"`
	Bytes         int64 `json:"bytes"`
	BadSignatures int64 `json:"bad_signatures"`
	Unsigned      int64 `json:"unsigned"`
}

// since returns the counts added since an earlier reading.
func (s ReceiverStats) since(old ReceiverStats) ReceiverStats {
	return ReceiverStats{
		Requests:      s.Requests - old.Requests,
		Events:        s.Events - old.Events,
		Bytes:         s.Bytes - old.Bytes,
		BadSignatures: s.BadSignatures - old.BadSignatures,
		Unsigned:      s.Unsigned - old.Unsigned,
	}
}

// Stats returns the counts so far.
func (rv *Receiver) Stats() ReceiverStats {
	return ReceiverStats{
		Requests:      rv.requests.Load(),
		Events:        rv.events.Load(),
		Bytes:         rv.bytes.Load(),
		BadSignatures: rv.bad.Load(),
		Unsigned:      rv.unsigned.Load(),
	}
}
