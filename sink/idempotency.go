package sink

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"slices"
)

// idempotencyKey returns the Idempotency-Key of a request, computed once
// when its batch is formed so that every retry carries the same one.
//
// Unbatched, it is derived from the action id and the record's topic,
// partition and offset: a redelivery after a restart carries the same key.
// Batched, it is derived from the action id and, per topic-partition, the
// first and last offsets and the count of the events it carries. Two
// different batches of one action cannot share a range, because an offset
// belongs to one batch; a batch re-formed after a restart gets the same key
// only if it carries the same events, and receivers still have each event's
// messageId to drop duplicates.
//
// The key is 32 hex digits (128 bits of a SHA-256): short enough for any
// header limit, far beyond any chance of collision.
func idempotencyKey(action string, items []item, batched bool) string {
	h := sha256.New()
	var num [8]byte
	writeString := func(s string) {
		binary.BigEndian.PutUint64(num[:], uint64(len(s)))
		h.Write(num[:])
		h.Write([]byte(s))
	}
	writeInt := func(n int64) {
		binary.BigEndian.PutUint64(num[:], uint64(n))
		h.Write(num[:])
	}
	writeString(action)
	if !batched && len(items) == 1 && items[0].rec != nil {
		r := items[0].rec
		writeString("event")
		writeString(r.Topic)
		writeInt(int64(r.Partition))
		writeInt(r.Offset)
	} else {
		writeString("batch")
		for _, rg := range offsetRanges(items) {
			writeString(rg.topic)
			writeInt(int64(rg.partition))
			writeInt(rg.first)
			writeInt(rg.last)
			writeInt(int64(rg.count))
		}
	}
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0])[:16])
}

type offsetRange struct {
	topic       string
	partition   int32
	first, last int64
	count       int
}

// offsetRanges returns, per topic-partition in sorted order, the offsets the
// items carry. An item without a record counts as partition -1 of topic "".
func offsetRanges(items []item) []offsetRange {
	var out []offsetRange
	for _, it := range items {
		topic, part, off := "", int32(-1), int64(-1)
		if it.rec != nil {
			topic, part, off = it.rec.Topic, it.rec.Partition, it.rec.Offset
		}
		i := slices.IndexFunc(out, func(r offsetRange) bool { return r.topic == topic && r.partition == part })
		if i < 0 {
			out = append(out, offsetRange{topic: topic, partition: part, first: off, last: off})
			i = len(out) - 1
		}
		r := &out[i]
		r.first, r.last = min(r.first, off), max(r.last, off)
		r.count++
	}
	slices.SortFunc(out, func(a, b offsetRange) int {
		return cmp.Or(cmp.Compare(a.topic, b.topic), cmp.Compare(a.partition, b.partition))
	})
	return out
}
