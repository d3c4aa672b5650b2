package dlq

import (
	"strings"
	"time"

	"github.com/goccy/go-json"
	"github.com/hookstream/hookstream/internal/deadletter"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Letter is one dead letter as listed: when and why, for which action, the
// source record's coordinates and the event's messageId. Its JSON form is
// the one `hookstream dlq list --output json` prints.
type Letter struct {
	Time            time.Time         `json:"time"` // when it was dead-lettered
	Action          string            `json:"action"`
	Reason          deadletter.Reason `json:"reason"`
	Status          int               `json:"status,omitempty"` // the endpoint's HTTP status, if one answered
	Error           string            `json:"error"`
	Attempts        int               `json:"attempts"`
	SourceTopic     string            `json:"source_topic"`
	SourcePartition int32             `json:"source_partition"`
	SourceOffset    int64             `json:"source_offset"`
	MessageID       string            `json:"messageId,omitempty"`
	ValueDropped    bool              `json:"value_dropped,omitempty"` // the value was too large for the dead-letter topic
	Partition       int32             `json:"dlq_partition"`           // where the dead letter is
	Offset          int64             `json:"dlq_offset"`

	// source is the source record (value and headers included), kept only
	// when the letters are read for a replay.
	source *kgo.Record
}

// newLetter reads the dead letter rec. With keep, the letter holds the
// source record for a replay. Texts that repeat from letter to letter
// (action, reason, error, topic) are shared through strs, so a listing of
// many letters holds each once.
func newLetter(rec *kgo.Record, keep bool, strs *interner) Letter {
	d := deadletter.Decode(rec)
	l := Letter{
		Time:            rec.Timestamp.UTC(),
		Action:          strs.get(d.Action),
		Reason:          deadletter.Reason(strs.get(string(d.Reason))),
		Status:          d.Status,
		Error:           strs.get(d.Error),
		Attempts:        d.Attempts,
		SourceTopic:     strs.get(d.Source.Topic),
		SourcePartition: d.Source.Partition,
		SourceOffset:    d.Source.Offset,
		MessageID:       messageID(d.Source.Value),
		ValueDropped:    d.ValueDropped,
		Partition:       rec.Partition,
		Offset:          rec.Offset,
	}
	if keep {
		l.source = d.Source
	}
	return l
}

// messageID returns the event's messageId, or "" for a value that is not a
// JSON object with a string messageId (a poison record).
func messageID(value []byte) string {
	var ev struct {
		MessageID string `json:"messageId"`
	}
	if json.Unmarshal(value, &ev) != nil {
		return ""
	}
	return strings.Clone(ev.MessageID) // the decoder's string may share a copy of the whole value
}

// interner hands out one copy of each distinct string, up to a bound: the
// distinct errors of a large topic are many, and then stop being shared.
type interner map[string]string

const maxInterned = 10000

func (in *interner) get(s string) string {
	if v, ok := (*in)[s]; ok {
		return v
	}
	if *in == nil {
		*in = interner{}
	}
	if len(*in) < maxInterned {
		(*in)[s] = s
	}
	return s
}
