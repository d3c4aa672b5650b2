package deadletter

import (
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Decoded is a dead letter or a parked event read back.
type Decoded struct {
	// Parked is true for a parked event (no hookstream-reason header):
	// Letter then holds only the Action.
	Parked bool
	Letter
	// ValueDropped is true when the dead-letter topic refused the value
	// (DropValue): Source.Value is then nil.
	ValueDropped bool
	// Source is the source record as it was read: topic, partition,
	// offset, timestamp, key, value and headers other than hookstream's
	// own. It carries rec's Context, so trace links survive the round
	// trip, and LeaderEpoch -1 (unknown).
	Source *kgo.Record
}

// Decode reads rec, a record of the dead-letter or the retry topic. It never
// fails: a missing or malformed header leaves its field as if the record
// were its own source (the source coordinates and timestamp are rec's, a
// parked event's source key nil) or zero; Reason is as written, which
// Valid tells apart from the known reasons.
func Decode(rec *kgo.Record) Decoded {
	var d Decoded
	src := &kgo.Record{Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset, Value: rec.Value,
		Timestamp: rec.Timestamp, LeaderEpoch: -1, Context: rec.Context, Headers: make([]kgo.RecordHeader, 0, len(rec.Headers))}
	d.Parked = true
	var key []byte
	for _, h := range rec.Headers {
		v := string(h.Value)
		switch h.Key {
		case HeaderReason:
			d.Parked, d.Reason = false, Reason(v)
		case HeaderAction:
			d.Action = v
		case HeaderStatus:
			d.Status, _ = strconv.Atoi(v)
		case HeaderError:
			d.Error = v
		case HeaderAttempts:
			d.Attempts, _ = strconv.Atoi(v)
		case HeaderValueDropped:
			d.ValueDropped = true
		case HeaderSourceTopic:
			src.Topic = v
		case HeaderSourcePartition:
			if p, err := strconv.ParseInt(v, 10, 32); err == nil {
				src.Partition = int32(p)
			}
		case HeaderSourceOffset:
			if o, err := strconv.ParseInt(v, 10, 64); err == nil {
				src.Offset = o
			}
		case HeaderSourceKey:
			key = h.Value
		case HeaderSourceTimestamp:
			if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
				src.Timestamp = time.UnixMilli(ms)
			}
		default:
			src.Headers = append(src.Headers, h)
		}
	}
	if d.Parked {
		src.Key = key // a parked event's own key is its action's id
	} else {
		src.Key = rec.Key
	}
	if d.ValueDropped {
		src.Value = nil
	}
	d.Source = src
	return d
}
