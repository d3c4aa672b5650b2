package processor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookstream/hookstream/internal/telemetry"
	"github.com/twmb/franz-go/pkg/kgo"
)

// maxPoll caps the records taken in one poll, so one poll's hand-off stays
// short and the partitions' workers start early.
const maxPoll = 10_000

// commitTimeout bounds the final commit and the group leave at shutdown,
// separately from ShutdownTimeout, so a flush that ran out of time still
// commits what was done.
const commitTimeout = 10 * time.Second

// Processor is one member of the consumer group: it polls the source
// topics, runs every record through the rules on a goroutine per partition,
// hands matches to the sink and commits each partition up to its first
// record not done.
type Processor struct {
	cfg     Config
	log     *slog.Logger
	metrics *telemetry.Metrics
	budget  *budget
	maxPoll int // the most records taken in one poll
	minPoll int // the smallest room worth polling for

	running atomic.Bool
	client  atomic.Pointer[kgo.Client]

	mu    sync.Mutex
	parts map[topicPartition]*partition
	work  context.Context // parent of the partitions' contexts
}

type topicPartition struct {
	topic string
	id    int32
}

// New checks cfg and returns a Processor; Run starts it.
func New(cfg Config) (*Processor, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	// A poll takes at most a quarter of the budget, so a partition that
	// stops draining holds at most its limit plus one poll: with two or
	// more partitions that leaves a quarter of the budget to the others.
	mp := max(1, min(maxPoll, cfg.MaxBuffered/4))
	return &Processor{
		cfg:     cfg,
		log:     cfg.Logger,
		metrics: cfg.Metrics,
		budget:  newBudget(cfg.MaxBuffered),
		maxPoll: mp,
		minPoll: max(1, min(mp, cfg.MaxBuffered/8)),
		parts:   make(map[topicPartition]*partition),
	}, nil
}

// partitionLimits are what one of n assigned partitions may hold before it
// is paused. Records not done: twice its fair share of the budget, and at
// most half of it; a single partition is limited by the budget alone, since
// there is nobody to starve and pausing costs a re-fetch. Records not yet
// committed, done or not: four times its share, so the ledgers of all
// partitions together hold at most four budgets' worth of slots (about 70
// bytes each; a done record keeps no payload).
func (p *Processor) partitionLimits(n int) limits {
	b := p.cfg.MaxBuffered
	n = max(1, n)
	open := b
	if n > 1 {
		open = max(p.minPoll, min(b/2, 2*b/n))
	}
	return limits{open: open, span: max(open, 4*b/n)}
}

// Run waits for Config.Ready, joins the group and processes records until
// ctx ends. It then stops fetching, lets every partition hand over what it
// holds, flushes the sink (within ShutdownTimeout), commits what is done,
// leaves the group and returns nil. It returns an error only if the member
// could not start. Run may be called once.
func (p *Processor) Run(ctx context.Context) error {
	if !p.running.CompareAndSwap(false, true) {
		return errors.New("processor: Run called twice")
	}
	if p.cfg.Ready != nil {
		if err := p.cfg.Ready(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("processor: wait until ready: %w", err)
		}
	}
	if ctx.Err() != nil {
		return nil
	}

	// Partitions outlive ctx: at shutdown they finish their work under
	// the shutdown deadline, which cancels work.
	work, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	p.mu.Lock()
	p.work = work
	p.mu.Unlock()

	cl, err := kgo.NewClient(p.clientOpts()...)
	if err != nil {
		return fmt.Errorf("processor: client for group %s: %w", p.cfg.Group, err)
	}
	p.client.Store(cl)
	p.log.Info("joining group", "group", p.cfg.Group, "topics", p.cfg.Topics)

	// Marks go on through the shutdown's flush, so progress made then is
	// committed even if the process is killed before the end.
	pubCtx, stopPub := context.WithCancel(context.Background())
	publishing := make(chan struct{})
	go func() {
		defer close(publishing)
		p.publish(pubCtx)
	}()
	stopPublishing := func() { stopPub(); <-publishing }
	defer stopPublishing()

	p.poll(ctx, cl)
	p.shutdown(ctx, cl, stopWork, stopPublishing)
	return nil
}

// publish marks every partition's commit point, if it moved, a few times per
// commit interval, so each autocommit carries what was done shortly before
// it.
func (p *Processor) publish(ctx context.Context) {
	tick := time.NewTicker(p.cfg.CommitInterval / 4)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			for _, part := range p.snapshot() {
				part.cp.publish()
			}
		case <-ctx.Done():
			return
		}
	}
}

// clientOpts are the caller's connection options followed by the ones the
// commit protocol depends on, which therefore win.
func (p *Processor) clientOpts() []kgo.Opt {
	return append(slices.Clone(p.cfg.Opts),
		kgo.ConsumeTopics(p.cfg.Topics...),
		kgo.ConsumerGroup(p.cfg.Group),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.AutoCommitMarks(),
		kgo.AutoCommitInterval(p.cfg.CommitInterval),
		// Rebalance callbacks wait while a poll's records are being
		// handed off (never long: hand-off does not block), so records
		// polled before a revoke never reach a partition assigned after.
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsAssigned(p.assigned),
		kgo.OnPartitionsRevoked(p.revoked),
		kgo.OnPartitionsLost(p.lost),
	)
}

// poll is the poll loop: it takes as many records as the budget has room
// for and hands each partition's records to that partition's worker. It
// never waits on a partition; it waits only for room in the budget, and
// returns when ctx ends.
func (p *Processor) poll(ctx context.Context, cl *kgo.Client) {
	for {
		if p.budget.room() < p.minPoll && !p.budget.wait(ctx, p.minPoll) {
			return
		}
		fs := cl.PollRecords(ctx, min(p.budget.room(), p.maxPoll))
		if ctx.Err() != nil {
			cl.AllowRebalance()
			return // anything just polled is not handed off, so not committed
		}
		closed := false
		fs.EachError(func(topic string, id int32, err error) {
			if errors.Is(err, kgo.ErrClientClosed) {
				closed = true
				return
			}
			p.log.Warn("fetch", "topic", topic, "partition", id, "err", err)
		})
		fs.EachPartition(p.handOff)
		cl.AllowRebalance()
		if closed {
			return
		}
	}
}

// handOff gives one partition's polled records to its worker.
func (p *Processor) handOff(fp kgo.FetchTopicPartition) {
	p.mu.Lock()
	part := p.parts[topicPartition{fp.Topic, fp.Partition}]
	lim := p.partitionLimits(len(p.parts))
	p.mu.Unlock()
	if part == nil {
		return // no longer ours; its next owner reads it from the committed offset
	}
	part.hwm.Store(fp.HighWatermark)
	if len(fp.Records) == 0 {
		return
	}
	if part.handOff(fp.Records, lim) {
		p.metrics.EventsConsumed.Add(context.Background(), int64(len(fp.Records)), part.topicOpt)
	}
}

// shutdown stops fetching, lets the workers hand over what they hold, flushes
// the sink, commits what is done and leaves the group.
func (p *Processor) shutdown(ctx context.Context, cl *kgo.Client, stopWork, stopPublishing func()) {
	start := time.Now()
	cl.PauseFetchTopics(p.cfg.Topics...)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.cfg.ShutdownTimeout)
	defer cancel()
	// At the deadline every partition's context ends, so a Send blocked on
	// a full action queue returns.
	defer context.AfterFunc(sctx, stopWork)()

	parts := p.snapshot()
	for _, part := range parts {
		part.finish()
	}
	for _, part := range parts {
		part.wait()
	}
	if err := p.cfg.Sink.Flush(sctx); err != nil {
		p.log.Warn("flush at shutdown", "err", err, "timeout", p.cfg.ShutdownTimeout)
	}

	// Close the ledgers, marking each a last time, then commit.
	stopPublishing()
	p.release(p.all(), "shutdown", true)
	cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer ccancel()
	if err := cl.CommitMarkedOffsets(cctx); err != nil {
		p.log.Error("commit at shutdown", "group", p.cfg.Group, "err", err)
	}
	if err := cl.LeaveGroupContext(cctx); err != nil {
		p.log.Warn("leave group", "group", p.cfg.Group, "err", err)
	}
	cl.Close()
	p.log.Info("left group", "group", p.cfg.Group, "took", time.Since(start).Round(time.Millisecond))
}

// snapshot returns the current partitions.
func (p *Processor) snapshot() []*partition {
	p.mu.Lock()
	defer p.mu.Unlock()
	parts := make([]*partition, 0, len(p.parts))
	for _, part := range p.parts {
		parts = append(parts, part)
	}
	return parts
}

// all returns every current partition as a topic → partitions map.
func (p *Processor) all() map[string][]int32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := make(map[string][]int32)
	for tp := range p.parts {
		m[tp.topic] = append(m[tp.topic], tp.id)
	}
	return m
}
