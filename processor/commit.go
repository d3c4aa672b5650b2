package processor

import (
	"context"
	"time"
)

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
