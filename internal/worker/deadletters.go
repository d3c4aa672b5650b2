package worker

import (
	"sync"
	"time"
	"unicode/utf8"

	"github.com/hookstream/hookstream/internal/deadletter"
)

// recentDeadLetters is how many of the latest dead letters the status page
// lists.
const recentDeadLetters = 20

// maxShownError bounds an error's text on the status page, in bytes.
const maxShownError = 300

// DeadLetterInfo is one dead letter this worker wrote, as the status page
// lists it. Its error is the hookstream-error header's text, which the
// sink builds without URLs, header values or response bodies: no secret.
type DeadLetterInfo struct {
	Time   time.Time `json:"time"` // when the topic acknowledged it
	Action string    `json:"action"`
	Reason string    `json:"reason"`
	Status int       `json:"status,omitempty"` // the endpoint's HTTP status, if one answered
	Error  string    `json:"error"`
}

// deadLetters keeps the latest dead letters the sink wrote. add runs on
// the producer's callback goroutine, list on HTTP requests.
type deadLetters struct {
	now  func() time.Time
	mu   sync.Mutex
	ring [recentDeadLetters]DeadLetterInfo
	n    int // dead letters added so far
}

// add records l, written now.
func (d *deadLetters) add(l deadletter.Letter) {
	info := DeadLetterInfo{Time: d.now(), Action: l.Action, Reason: string(l.Reason), Status: l.Status, Error: cut(l.Error, maxShownError)}
	d.mu.Lock()
	d.ring[d.n%recentDeadLetters] = info
	d.n++
	d.mu.Unlock()
}

// list returns the latest dead letters, newest first.
func (d *deadLetters) list() []DeadLetterInfo {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]DeadLetterInfo, 0, min(d.n, recentDeadLetters))
	for i := d.n - 1; i >= 0 && i >= d.n-recentDeadLetters; i-- {
		out = append(out, d.ring[i%recentDeadLetters])
	}
	return out
}

// cut shortens s to at most n bytes on a rune boundary, marking the cut.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}
