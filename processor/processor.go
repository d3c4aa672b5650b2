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

// Processor is one member of the consumer group: it polls the source
// topics, runs every record through the rules on a goroutine per partition,
// hands matches to the sink and commits each partition up to its first
// record not done.
type Processor struct {
	cfg     Config
	log     *slog.Logger
	metrics *telemetry.Metrics
	bounds  bounds       // what the member may hold
	sources atomic.Int64 // source partitions owned, as of the last change
	budget  *budget
	maxPoll int // the most records taken in one poll
	minPoll int // the smallest room worth polling for

	running atomic.Bool
	client  atomic.Pointer[kgo.Client]
	ends    *endOffsets // for partitions no fetch has reported on

	reassigned chan struct{} // the assignment changed (assignment.go)

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
	b := bounds{events: cfg.MaxBuffered, bytes: cfg.MaxBufferedBytes}
	most, least := pollSizes(b)
	fetch, _ := fetchSizes(b, 1)
	p := &Processor{
		cfg:     cfg,
		log:     cfg.Logger,
		metrics: cfg.Metrics,
		bounds:  b,
		budget:  newBudget(b, least, pollReserve(fetch)),
		maxPoll: most,
		minPoll: least,
		parts:   make(map[topicPartition]*partition),

		reassigned: make(chan struct{}, 1),
	}
	p.ends = newEndOffsets(p.client.Load)
	return p, nil
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
	if p.cfg.OnAssigned != nil {
		actx, stop := context.WithCancel(ctx)
		reporting := make(chan struct{})
		go func() {
			defer close(reporting)
			p.reportAssignment(actx, cl)
		}()
		defer func() { stop(); <-reporting }()
	}

	p.poll(ctx, cl)
	p.shutdown(ctx, cl, stopWork, stopPublishing)
	return nil
}

// clientOpts are hookstream's consumer defaults, then the caller's options
// (which may change those defaults), then the options the commit protocol
// depends on, which therefore win.
//
// The defaults: read only committed records, so events from an aborted
// transaction are never delivered; kgo's own reset policy, so a new group
// starts at the beginning of the topic (nothing is skipped); and a fetch
// that waits at most fetchMaxWait for new records. A resumed partition
// joins only the next fetch, so kgo's 5s long poll on idle partitions
// would hold it back that long each time — and pauses are routine: a
// partition over its limits, the retry topic while a parked action drains.
// Last, fetch sizes that follow the byte bound (fetchSizes); they are
// resized as partitions are assigned and revoked, whatever the caller set.
func (p *Processor) clientOpts() []kgo.Opt {
	fetch, part := fetchSizes(p.bounds, 1)
	defaults := []kgo.Opt{
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.FetchMaxWait(fetchMaxWait),
		kgo.FetchMaxBytes(fetch),
		kgo.FetchMaxPartitionBytes(part),
	}
	return append(slices.Concat(defaults, p.cfg.Opts),
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

// fetchMaxWait is how long the broker may hold a fetch for new records.
const fetchMaxWait = 500 * time.Millisecond

// partitionsChanged counts the partitions owned now, for the shares of
// partitionLimits, and sets the fetch sizes for them.
func (p *Processor) partitionsChanged(cl *kgo.Client) {
	p.mu.Lock()
	n, sources := len(p.parts), 0
	for tp := range p.parts {
		if tp.topic != p.cfg.RetryTopic {
			sources++
		}
	}
	p.mu.Unlock()
	p.sources.Store(int64(sources))
	cl.UpdateFetchMaxBytes(fetchSizes(p.bounds, n))
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
