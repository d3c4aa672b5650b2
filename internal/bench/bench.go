package bench

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/hookstream/hookstream/internal/broker"
	"github.com/hookstream/hookstream/internal/config"
	"github.com/hookstream/hookstream/rules"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Run measures, in order: producing the backlog; the raw consumer draining
// it; the pipeline draining it with a fresh group; and latency at
// Config.Rate. It returns when all is done and cleaned up, or ctx ends.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	r := &run{cfg: cfg, res: &Result{}, topic: cfg.Topic, id: randomID()}
	if r.topic == "" {
		r.topic = "hookstream.bench." + r.id
	}
	defer r.close()
	if err := r.setUp(ctx); err != nil {
		return nil, err
	}
	if err := r.produce(ctx); err != nil {
		return nil, err
	}
	for i := range cfg.Runs {
		raw, err := r.raw(ctx)
		if err != nil {
			return nil, err
		}
		pp, err := r.pipeline(ctx, i, i == cfg.Runs-1)
		if err != nil {
			return nil, err
		}
		r.res.add(raw, pp)
	}
	return r.res, nil
}

// run is one benchmark's state, from set-up to clean-up.
type run struct {
	cfg    Config
	res    *Result
	topic  string
	id     string   // of this benchmark, in its topic and group names
	groups []string // one per pipeline run

	brokers  []string
	embedded *broker.Broker
	admin    *kadm.Client
	adminCl  *kgo.Client
	created  bool // the topic was created on a real cluster: delete it after
	url      string
	receiver *Receiver
	server   *http.Server
	set      *rules.Set
	gen      *generator
	ends     map[int32]int64 // end offset per partition after the backlog
}

func (r *run) progress(format string, args ...any) {
	fmt.Fprintf(r.cfg.Progress, format+"\n", args...)
}

// opts returns the client options for the cluster.
func (r *run) opts(more ...kgo.Opt) []kgo.Opt {
	return slices.Concat(r.cfg.ClientOpts, []kgo.Opt{kgo.SeedBrokers(r.brokers...)}, more)
}

// setUp starts the broker (or connects to the cluster) and creates the
// topic, starts the receiver (or takes the URL) and compiles the rules.
func (r *run) setUp(ctx context.Context) error {
	c := r.cfg
	s := &r.res.Setup
	s.Events, s.Partitions, s.Match, s.Runs = c.Events, c.Partitions, c.Match, c.Runs
	s.Topic = r.topic
	s.CPUs, s.GoVersion = runtime.GOMAXPROCS(0), runtime.Version()
	var includes []string

	if len(c.Brokers) == 0 {
		def := config.Default().Kafka
		p := int32(c.Partitions)
		b, err := broker.Start(broker.Config{
			Listen: "127.0.0.1:0",
			Topics: map[string]int32{r.topic: p, def.DLQTopic: p, def.RetryTopic: p},
		})
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		r.embedded, r.brokers, s.Broker = b, b.Addrs(), "embedded"
		includes = append(includes, "the embedded broker")
	} else {
		r.brokers, s.Broker = c.Brokers, strings.Join(c.Brokers, ",")
	}
	cl, err := kgo.NewClient(r.opts()...)
	if err != nil {
		return fmt.Errorf("bench: admin client: %w", err)
	}
	r.adminCl, r.admin = cl, kadm.NewClient(cl)
	if r.embedded == nil {
		if _, err := r.admin.CreateTopic(ctx, int32(c.Partitions), -1, nil, r.topic); err != nil {
			return fmt.Errorf("bench: create topic %s on %s: %w", r.topic, s.Broker, err)
		}
		r.created = true
	}

	r.url, s.Endpoint = c.URL, c.URL
	if c.URL == "" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("bench: receiver: %w", err)
		}
		r.receiver = NewReceiver(c.Secret)
		r.server = &http.Server{Handler: r.receiver, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = r.server.Serve(ln) }() // returns when close shuts it down
		r.url, s.Endpoint = "http://"+ln.Addr().String()+"/orders", "loopback"
		includes = append(includes, "the loopback receiver verifying every signature")
	}

	r.set = c.Rules
	if r.set == nil {
		if r.set, err = compileDefault(r.url, c.BatchWait, c.Actions, c.Secret); err != nil {
			return fmt.Errorf("bench: rules: %w", err)
		}
	}
	s.Actions = r.set.Enabled()
	includes = append([]string{"the worker"}, includes...)
	s.CPUIncludes = strings.Join(includes, ", ")
	if len(includes) == 1 {
		s.CPUIncludes = "the worker only (external broker and endpoint)"
	}
	r.gen = newGenerator(binary.LittleEndian.Uint64(randomBytes(8)), c.Size, c.Match)
	return nil
}

// produce writes the backlog and records each partition's end offset.
func (r *run) produce(ctx context.Context) error {
	r.progress("producing %d events of ~%d bytes to %s (%d partitions)", r.cfg.Events, r.cfg.Size, r.topic, r.cfg.Partitions)
	cl, err := kgo.NewClient(r.opts(kgo.MaxBufferedRecords(100_000))...)
	if err != nil {
		return fmt.Errorf("bench: producer: %w", err)
	}
	defer cl.Close()
	before, load := readUsage(), loadAvg()
	p, err := produceBacklog(ctx, cl, r.topic, r.gen, r.cfg.Events, backlogMatches(r.cfg.Events, r.cfg.Match))
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	r.res.Produce = newPhase(p.events, p.bytes, p.took, before, readUsage(), load, loadAvg())
	r.res.Produce.MatchedEvents = p.matched
	r.res.Setup.EventBytes = int(p.bytes / max(p.events, 1))
	r.ends, err = r.endOffsets(ctx)
	return err
}

// raw drains the backlog with a bare consumer.
func (r *run) raw(ctx context.Context) (Phase, error) {
	r.progress("raw consumer draining %s", r.topic)
	runtime.GC()
	before, load := readUsage(), loadAvg()
	bytes, took, err := consumeRaw(ctx, r.opts(), r.topic, int64(r.cfg.Events))
	if err != nil {
		return Phase{}, fmt.Errorf("bench: %w", err)
	}
	return newPhase(int64(r.cfg.Events), bytes, took, before, readUsage(), load, loadAvg()), nil
}

func (r *run) endOffsets(ctx context.Context) (map[int32]int64, error) {
	ends, err := r.admin.ListEndOffsets(ctx, r.topic)
	if err != nil {
		return nil, fmt.Errorf("bench: end offsets of %s: %w", r.topic, err)
	}
	if err := ends.Error(); err != nil {
		return nil, fmt.Errorf("bench: end offsets of %s: %w", r.topic, err)
	}
	out := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
	return out, nil
}

// close stops the receiver and the broker, and on a real cluster deletes
// the topic and the group the run made.
func (r *run) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if r.admin != nil && r.embedded == nil {
		if r.created {
			if _, err := r.admin.DeleteTopic(ctx, r.topic); err != nil {
				r.cfg.Log.Warn("delete benchmark topic", "topic", r.topic, "err", err)
			}
		}
		for _, g := range r.groups {
			if _, err := r.admin.DeleteGroup(ctx, g); err != nil && !errors.Is(err, context.Canceled) {
				r.cfg.Log.Debug("delete benchmark group", "group", g, "err", err)
			}
		}
	}
	if r.adminCl != nil {
		r.adminCl.Close()
	}
	if r.server != nil {
		_ = r.server.Shutdown(ctx)
	}
	if r.embedded != nil {
		r.embedded.Close()
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = crand.Read(b) // never fails on supported platforms
	return b
}

func randomID() string { return hex.EncodeToString(randomBytes(3)) }

// backlogMatches returns how many backlog events the default action wants:
// the share match of n, rounded to whole batches of 1000 when there is at
// least one. Then every batch of the backlog fills up and leaves at once,
// and the phase does not end with a partial batch waiting out batch.wait,
// which would measure the end of a finite backlog rather than the
// pipeline. (With --rules, the tail wait is there.)
func backlogMatches(n int, match float64) int {
	want := int(math.Round(float64(n) * match))
	if want >= 1000 {
		want = int(math.Round(float64(want)/1000)) * 1000
	}
	return min(want, n)
}
