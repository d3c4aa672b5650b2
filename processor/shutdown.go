package processor

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// commitTimeout bounds the final commit and the group leave at shutdown,
// separately from ShutdownTimeout, so a flush that ran out of time still
// commits what was done.
const commitTimeout = 10 * time.Second

// shutdown stops fetching, lets the matchers hand over what they hold, flushes
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
