package bench

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"time"

	"github.com/hookstream/hookstream/processor"
	"github.com/twmb/franz-go/pkg/kgo"
)

// pollEvery is how often the pipeline's progress is read while it drains,
// per 8 partitions, up to maxPollEvery: the end of the phase is known to
// within this. A read costs in proportion to the partitions (each one's
// ledger, sorted), so the interval grows with them and the reads take the
// same small share of the CPU the pipeline is measured on: read every 2 ms,
// 256 partitions took a tenth of it.
const (
	pollEvery    = 2 * time.Millisecond
	maxPollEvery = 20 * time.Millisecond
)

// pipeline starts the worker on the backlog with a fresh group (run i's),
// measures it until every record is done (delivered, dead-lettered or
// matched nothing), then on the last run measures latency at a low rate,
// and stops the worker. Profiles are taken on the last run.
func (r *run) pipeline(ctx context.Context, i int, last bool) (PipelinePhase, error) {
	group := fmt.Sprintf("hookstream.bench.%s.%d", r.id, i+1)
	r.groups = append(r.groups, group)
	r.progress("pipeline draining %s with group %s", r.topic, group)
	obs := &observer{}
	w, err := r.newWorker(group, obs)
	if err != nil {
		return PipelinePhase{}, err
	}
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	exited := make(chan error, 1)

	// Start from a collected heap, so the phase does not pay for the
	// earlier phases' garbage, and from a fresh peak RSS.
	runtime.GC()
	debug.FreeOSMemory()
	var pp PipelinePhase
	pp.RSSAtStartBytes = currentRSS()
	resetPeakRSS()
	var received ReceiverStats
	if r.receiver != nil {
		received = r.receiver.Stats()
	}
	cpuProfile, memBefore, memAfter := r.cfg.CPUProfile, r.cfg.MemProfileBefore, r.cfg.MemProfile
	if !last {
		cpuProfile, memBefore, memAfter = nil, nil, nil
	}
	if memBefore != nil {
		if err := pprof.Lookup("allocs").WriteTo(memBefore, 0); err != nil {
			return pp, fmt.Errorf("bench: memory profile: %w", err)
		}
	}
	if cpuProfile != nil {
		if err := pprof.StartCPUProfile(cpuProfile); err != nil {
			return pp, fmt.Errorf("bench: cpu profile: %w", err)
		}
	}
	profiling := cpuProfile != nil
	defer func() {
		if profiling {
			pprof.StopCPUProfile()
		}
	}()

	before, load := readUsage(), loadAvg()
	go func() { exited <- w.Run(wctx) }()
	status := w.Partitions
	select {
	case <-w.Started():
	case err := <-exited:
		return pp, fmt.Errorf("bench: worker stopped before it started: %w", errOrStopped(err))
	}
	if err := waitDone(ctx, status, r.topic, r.ends, exited, time.Time{}); err != nil {
		return pp, fmt.Errorf("bench: pipeline: %w", err)
	}
	after := readUsage()
	if profiling {
		pprof.StopCPUProfile()
		profiling = false
	}
	pp.PeakRSSBytes = peakRSS()
	if memAfter != nil {
		if err := pprof.Lookup("allocs").WriteTo(memAfter, 0); err != nil {
			return pp, fmt.Errorf("bench: memory profile: %w", err)
		}
	}
	pp.Phase = newPhase(int64(r.cfg.Events), r.res.Produce.Bytes, after.at.Sub(before.at), before, after, load, loadAvg())
	pp.MatchedEvents = r.res.Produce.MatchedEvents
	pp.DeliveryRequests, pp.FailedRequests = obs.ok.Load(), obs.failed.Load()
	if r.receiver != nil {
		pp.Receiver = r.receiver.Stats().since(received)
		pp.DeliveredEvents = pp.Receiver.Events
	}

	if last {
		if err := r.latency(ctx, obs, status, exited); err != nil {
			return pp, err
		}
	}
	stop()
	if err := <-exited; err != nil && !errors.Is(err, context.Canceled) {
		return pp, fmt.Errorf("bench: worker shutdown: %w", err)
	}
	return pp, nil
}

// latency produces at Config.Rate for Config.LatencyFor while the worker
// runs, waits for those events to be done, and takes the percentiles of
// their record-to-delivery times.
func (r *run) latency(ctx context.Context, obs *observer, status func() []processor.PartitionStatus, exited <-chan error) error {
	c := r.cfg
	l := &r.res.Latency
	l.Rate, l.BatchWaitMS = c.Rate, ms(c.BatchWait)
	if c.LatencyFor < 0 {
		return nil
	}
	r.progress("latency at %g events/s for %s", c.Rate, c.LatencyFor)
	cl, err := kgo.NewClient(r.opts(kgo.ProducerLinger(0))...)
	if err != nil {
		return fmt.Errorf("bench: latency producer: %w", err)
	}
	defer cl.Close()
	l.LoadAvgAtStart = loadAvg()
	start := time.Now()
	obs.startLatency(start)
	p, err := producePaced(ctx, cl, r.topic, r.gen, c.Rate, c.LatencyFor)
	if err != nil {
		obs.stopLatency()
		return fmt.Errorf("bench: latency: %w", err)
	}
	ends, err := r.endOffsets(ctx)
	if err != nil {
		obs.stopLatency()
		return err
	}
	// Every event is done within batch.wait and a delivery, unless
	// something is wrong; allow generously more before giving up.
	err = waitDone(ctx, status, r.topic, ends, exited, time.Now().Add(c.BatchWait+30*time.Second))
	samples := obs.stopLatency()
	if err != nil {
		return fmt.Errorf("bench: latency: %w", err)
	}
	l.Events, l.Seconds, l.LoadAvgAtEnd = p.events, p.took.Seconds(), loadAvg()
	l.latencyFigures(samples)
	return nil
}

// waitDone returns once every partition's records up to ends are done, as
// the worker's status says, or fails when the worker exits, ctx ends or the
// deadline (if set) passes.
func waitDone(ctx context.Context, status func() []processor.PartitionStatus, topic string, ends map[int32]int64, exited <-chan error, deadline time.Time) error {
	tick := time.NewTicker(min(maxPollEvery, pollEvery*time.Duration(max(1, len(ends)/8))))
	defer tick.Stop()
	for {
		if left := remaining(status(), topic, ends); left == 0 {
			return nil
		} else if !deadline.IsZero() && time.Now().After(deadline) {
			return fmt.Errorf("%d records still not done", left)
		}
		select {
		case <-tick.C:
		case err := <-exited:
			return fmt.Errorf("worker stopped: %w", errOrStopped(err))
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// remaining counts the records of topic before ends not yet done. (The
// worker also reads its retry topic; that is not the backlog.) A partition
// the worker does not own yet has all of them left.
func remaining(st []processor.PartitionStatus, topic string, ends map[int32]int64) int64 {
	owned := make(map[int32]processor.PartitionStatus, len(st))
	for _, s := range st {
		if s.Topic == topic {
			owned[s.Partition] = s
		}
	}
	var left int64
	for p, end := range ends {
		s, ok := owned[p]
		if !ok {
			s.Committable = -1
		}
		left += s.Behind(end)
	}
	return left
}

func errOrStopped(err error) error {
	if err == nil {
		return errors.New("returned without an error")
	}
	return err
}
