package worker

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hookstream/hookstream/internal/deadletter"
)

func TestDeadLettersNewestFirstAndBounded(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tick := 0
	d := &deadLetters{now: func() time.Time { tick++; return at.Add(time.Duration(tick) * time.Second) }}
	if got := d.list(); len(got) != 0 {
		t.Fatalf("list before any = %v", got)
	}
	for i := range recentDeadLetters + 5 {
		d.add(deadletter.Letter{Reason: deadletter.ReasonRejected, Action: fmt.Sprintf("a%d", i), Status: 400, Error: "status 400"})
	}
	got := d.list()
	if len(got) != recentDeadLetters {
		t.Fatalf("listed %d, want the latest %d", len(got), recentDeadLetters)
	}
	for i, l := range got {
		want := DeadLetterInfo{Time: at.Add(time.Duration(recentDeadLetters+5-i) * time.Second),
			Action: fmt.Sprintf("a%d", recentDeadLetters+4-i), Reason: "rejected", Status: 400, Error: "status 400"}
		if l != want {
			t.Errorf("entry %d = %+v, want %+v", i, l, want)
		}
	}
}

func TestDeadLetterErrorCut(t *testing.T) {
	d := &deadLetters{now: time.Now}
	d.add(deadletter.Letter{Reason: deadletter.ReasonMapping, Error: strings.Repeat("é", maxShownError)})
	e := d.list()[0].Error
	if len(e) > maxShownError+len("…") || !strings.HasSuffix(e, "…") || strings.Trim(e, "é…") != "" {
		t.Errorf("error shown as %q (%d bytes): want at most %d bytes of whole runes, marked", e, len(e), maxShownError)
	}
}
