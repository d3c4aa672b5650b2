package bench

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// consumeRaw drains topic from its start with a bare franz-go consumer (no
// group, no commits, no decoding, default fetch settings) until it has read
// n records, and returns how many bytes of values it read and how long it
// took from creating the client. It is the input limit of this machine: the
// pipeline can be no faster.
func consumeRaw(ctx context.Context, opts []kgo.Opt, topic string, n int64) (bytes int64, took time.Duration, err error) {
	start := time.Now()
	cl, err := kgo.NewClient(slices.Concat(opts, []kgo.Opt{
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	})...)
	if err != nil {
		return 0, 0, fmt.Errorf("raw consumer: %w", err)
	}
	defer cl.Close()
	var records int64
	for records < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return bytes, time.Since(start), fmt.Errorf("raw consumer: %d of %d records: %w", records, n, ctx.Err())
		}
		var ferr error
		fs.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.Canceled) {
				ferr = fmt.Errorf("raw consumer: fetch %s/%d: %w", t, p, err)
			}
		})
		if ferr != nil {
			return bytes, time.Since(start), ferr
		}
		fs.EachRecord(func(r *kgo.Record) {
			records++
			bytes += int64(len(r.Value))
		})
	}
	return bytes, time.Since(start), nil
}
