package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hookstream/hookstream/internal/dlq"
)

// tableChunk is how many rows of a dead-letter table are held to set its
// column widths before any is written.
const tableChunk = 1000

// letterTable writes dead letters as a table while they are read. The
// column widths are set, as text/tabwriter sets them (widest cell plus two
// spaces), by the heading and the first tableChunk rows, held until then; a
// wider cell later widens its column from that row on. A table of up to
// tableChunk rows is aligned throughout; a longer one jogs where a column
// widens, rather than holding every row.
type letterTable struct {
	w      io.Writer
	extra  string     // a column before the error, which comes last as the longest
	held   [][]string // rows not yet written, while the widths are being set
	widths []int      // of every column but the last; nil while held
	rows   int
	line   []byte
}

func newLetterTable(w io.Writer, extra string) *letterTable {
	t := &letterTable{w: w, extra: extra}
	head := []string{"TIME", "ACTION", "REASON", "STATUS", "SOURCE", "MESSAGE ID"}
	if extra != "" {
		head = append(head, extra)
	}
	t.held = append(t.held, append(head, "ERROR"))
	return t
}

// listTime is how the table shows a dead letter's time: RFC 3339 in UTC,
// to the millisecond Kafka keeps.
const listTime = "2006-01-02T15:04:05.000Z07:00"

// add writes the row of l; extra is its cell in the extra column.
func (t *letterTable) add(l *dlq.Letter, extra string) error {
	status := "-"
	if l.Status != 0 {
		status = strconv.Itoa(l.Status)
	}
	cols := []string{
		l.Time.UTC().Format(listTime),
		cmpOr(l.Action, "-"),
		string(l.Reason),
		status,
		fmt.Sprintf("%s/%d@%d", l.SourceTopic, l.SourcePartition, l.SourceOffset),
		cmpOr(l.MessageID, "-"),
	}
	if t.extra != "" {
		cols = append(cols, extra)
	}
	cols = append(cols, oneLine(l.Error))
	t.rows++
	if t.widths == nil {
		t.held = append(t.held, cols)
		if len(t.held) <= tableChunk {
			return nil
		}
		return t.Flush()
	}
	return t.write(cols)
}

// Flush writes the rows held; call it once every row was added.
func (t *letterTable) Flush() error {
	if t.widths == nil {
		t.widths = make([]int, len(t.held[0])-1)
	}
	for _, row := range t.held {
		t.widen(row)
	}
	for _, row := range t.held {
		if err := t.write(row); err != nil {
			return err
		}
	}
	t.held = nil
	return nil
}

func (t *letterTable) widen(row []string) {
	for i, c := range row[:len(t.widths)] {
		t.widths[i] = max(t.widths[i], utf8.RuneCountInString(c)+2)
	}
}

func (t *letterTable) write(row []string) error {
	t.widen(row)
	t.line = t.line[:0]
	for i, c := range row[:len(t.widths)] {
		t.line = append(t.line, c...)
		t.line = append(t.line, strings.Repeat(" ", t.widths[i]-utf8.RuneCountInString(c))...)
	}
	t.line = append(t.line, row[len(row)-1]...)
	t.line = append(t.line, '\n')
	_, err := t.w.Write(t.line)
	return err
}

// jsonArray writes items as one JSON array, an item per line, as they come:
// a listing of a million dead letters is never held as one document.
type jsonArray struct {
	w   io.Writer
	buf bytes.Buffer
	enc *json.Encoder
	n   int
}

func newJSONArray(w io.Writer) *jsonArray {
	a := &jsonArray{w: w}
	a.enc = json.NewEncoder(&a.buf)
	a.enc.SetEscapeHTML(false)
	return a
}

func (a *jsonArray) add(v any) error {
	a.buf.Reset()
	if a.n == 0 {
		a.buf.WriteString("[\n  ")
	} else {
		a.buf.WriteString(",\n  ")
	}
	a.n++
	if err := a.enc.Encode(v); err != nil {
		return err
	}
	a.buf.Truncate(a.buf.Len() - 1) // Encode's newline
	_, err := a.w.Write(a.buf.Bytes())
	return err
}

// end closes the array; after, a newline.
func (a *jsonArray) end(after string) error {
	s := "[]" + after
	if a.n > 0 {
		s = "\n]" + after
	}
	_, err := io.WriteString(a.w, s)
	return err
}

// errorMasker masks the credentials in dead letters' errors, each distinct
// text once, up to a bound of texts remembered.
type errorMasker map[string]string

func (m errorMasker) mask(s string) string {
	if v, ok := m[s]; ok {
		return v
	}
	v := maskErrorText(s)
	if len(m) < 10000 {
		m[s] = v
	}
	return v
}
