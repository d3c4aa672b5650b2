package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// produced is what one production phase wrote.
type produced struct {
	events, matched, bytes int64
	took                   time.Duration
}

// produceBacklog writes n events, matched of them wanted by the default
// action, to topic as fast as the client takes them and waits until every
// one is acknowledged.
func produceBacklog(ctx context.Context, cl *kgo.Client, topic string, gen *generator, n, matched int) (produced, error) {
	var (
		out   produced
		mu    sync.Mutex
		first error
	)
	start := time.Now()
	onDone := func(_ *kgo.Record, err error) {
		if err != nil {
			mu.Lock()
			if first == nil {
				first = err
			}
			mu.Unlock()
		}
	}
	pick := gen.exactly(matched, n)
	for range n {
		now := time.Now()
		match := pick()
		key, value := gen.event(now, match)
		if match {
			out.matched++
		}
		out.bytes += int64(len(value))
		// Produce blocks while the client holds its maximum of buffered
		// records, which paces the generator to the broker.
		cl.Produce(ctx, &kgo.Record{Topic: topic, Key: key, Value: value, Timestamp: now}, onDone)
	}
	if err := cl.Flush(ctx); err != nil {
		return out, fmt.Errorf("produce %d events to %s: %w", n, topic, err)
	}
	out.events = int64(n)
	out.took = time.Since(start)
	mu.Lock()
	defer mu.Unlock()
	if first != nil {
		return out, fmt.Errorf("produce %d events to %s: %w", n, topic, first)
	}
	return out, nil
}

// producePaced writes events to topic at rate per second for d, each
// record's timestamp and its event's sentAt the instant it is handed to the
// client, and waits until they are acknowledged. The pace follows a fixed
// schedule, so a late event does not push back the ones after it.
func producePaced(ctx context.Context, cl *kgo.Client, topic string, gen *generator, rate float64, d time.Duration) (produced, error) {
	var (
		out   produced
		mu    sync.Mutex
		first error
	)
	onDone := func(_ *kgo.Record, err error) {
		if err != nil {
			mu.Lock()
			if first == nil {
				first = err
			}
			mu.Unlock()
		}
	}
	interval := time.Duration(float64(time.Second) / rate)
	n := int(d / interval)
	start := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for i := range n {
		if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				return out, ctx.Err()
			}
		}
		now := time.Now()
		key, value, matched := gen.random(now)
		if matched {
			out.matched++
		}
		out.events++
		out.bytes += int64(len(value))
		cl.Produce(ctx, &kgo.Record{Topic: topic, Key: key, Value: value, Timestamp: now}, onDone)
	}
	if err := cl.Flush(ctx); err != nil {
		return out, fmt.Errorf("produce at %g/s to %s: %w", rate, topic, err)
	}
	out.took = time.Since(start)
	mu.Lock()
	defer mu.Unlock()
	if first != nil {
		return out, fmt.Errorf("produce at %g/s to %s: %w", rate, topic, first)
	}
	return out, nil
}
