package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/hookstream/hookstream/internal/deadletter"
	"github.com/hookstream/hookstream/internal/dlq"
)

func tableLetter(i int, action string) dlq.Letter {
	return dlq.Letter{Time: time.Date(2026, 3, 1, 12, 0, i, 0, time.UTC), Action: action, Reason: deadletter.ReasonRejected,
		Status: 400, Error: "status 400", SourceTopic: "events", SourcePartition: 0, SourceOffset: int64(i), MessageID: fmt.Sprintf("m-%d", i)}
}

// Up to tableChunk rows, the table is the one text/tabwriter would align
// over every row.
func TestLetterTableAsTabwriter(t *testing.T) {
	letters := []dlq.Letter{tableLetter(0, "crm"), tableLetter(1, ""), tableLetter(2, "a-much-longer-action"), tableLetter(3, "crm")}
	letters[1].Status, letters[1].Reason, letters[1].Error = 0, deadletter.ReasonDecode, "value is not a JSON object"

	var got bytes.Buffer
	table := newLetterTable(&got, "REPLAY")
	for _, l := range letters {
		if err := table.add(&l, "yes"); err != nil {
			t.Fatal(err)
		}
	}
	if err := table.Flush(); err != nil {
		t.Fatal(err)
	}

	var want bytes.Buffer
	tw := tabwriter.NewWriter(&want, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tACTION\tREASON\tSTATUS\tSOURCE\tMESSAGE ID\tREPLAY\tERROR")
	for _, l := range letters {
		status := "-"
		if l.Status != 0 {
			status = fmt.Sprint(l.Status)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\tevents/0@%d\t%s\tyes\t%s\n", l.Time.Format(listTime), cmpOr(l.Action, "-"), l.Reason, status, l.SourceOffset, l.MessageID, l.Error)
	}
	tw.Flush()
	if got.String() != want.String() {
		t.Errorf("table:\n%s\nwant:\n%s", got.String(), want.String())
	}
}

// Past tableChunk rows, rows are written as they come: a wider cell widens
// its column from its row on, and no row is held.
func TestLetterTableStreams(t *testing.T) {
	var out bytes.Buffer
	table := newLetterTable(&out, "")
	for i := range tableChunk {
		if err := table.add(new(tableLetter(i, "crm")), ""); err != nil {
			t.Fatal(err)
		}
	}
	if out.Len() == 0 || len(table.held) != 0 {
		t.Fatalf("after %d rows: %d bytes written, %d rows held; want all written", tableChunk, out.Len(), len(table.held))
	}
	long := tableLetter(tableChunk, "a-much-longer-action")
	for _, l := range []dlq.Letter{long, tableLetter(tableChunk+1, "crm")} {
		before := out.Len()
		if err := table.add(&l, ""); err != nil {
			t.Fatal(err)
		}
		if out.Len() == before {
			t.Fatalf("row %d not written as it came", l.SourceOffset)
		}
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	reason := func(line string) int { return strings.Index(line, "rejected") }
	first, wide, after := lines[1], lines[len(lines)-2], lines[len(lines)-1]
	if reason(wide) <= reason(first) || reason(after) != reason(wide) {
		t.Errorf("REASON at %d, then %d for the wider action, then %d; want it moved right from the wider row on:\n%s\n%s\n%s",
			reason(first), reason(wide), reason(after), first, wide, after)
	}
}
