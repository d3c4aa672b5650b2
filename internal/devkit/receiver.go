package devkit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hookstream/hookstream/sink"
)

// Receiver is the webhook endpoint of `hookstream dev`. It checks each
// request's X-Signature with the shared secret and prints one line per
// delivery on out. The first path segment names the action (dev puts it
// there).
type Receiver struct {
	secret []byte
	mu     sync.Mutex // one line at a time on out
	out    io.Writer
}

// NewReceiver returns a receiver checking signatures with secret and
// printing to out.
func NewReceiver(secret []byte, out io.Writer) *Receiver {
	return &Receiver{secret: secret, out: out}
}

// maxDevBody bounds what the receiver reads: a batch of 1000 events of 16 KiB.
const maxDevBody = 16 << 20

func (rv *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxDevBody))
	if err != nil {
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	action, path, _ := strings.Cut(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/")
	sig := "none"
	if got := r.Header.Get(sink.HeaderSignature); got != "" {
		sig = "BAD"
		if sink.VerifySignature(rv.secret, body, got) {
			sig = "ok"
		}
	}
	size := "1 event"
	if n, isBatch := countEvents(body); isBatch {
		size = fmt.Sprintf("batch of %d", n)
	}
	rv.mu.Lock()
	fmt.Fprintf(rv.out, "%s  %-20s %-6s /%-34s %-13s signature %s\n",
		time.Now().Format("15:04:05"), action, r.Method, path, size, sig)
	rv.mu.Unlock()
	if sig == "BAD" {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// countEvents returns the length of a JSON array body, or isBatch false for
// a single object.
func countEvents(body []byte) (n int, isBatch bool) {
	if !bytes.HasPrefix(bytes.TrimSpace(body), []byte("[")) {
		return 1, false
	}
	var events []json.RawMessage
	if err := json.Unmarshal(body, &events); err != nil {
		return 0, true
	}
	return len(events), true
}
