package sink

import (
	"context"
	"sync"
)

// tracker counts the events handed to the Sink that are not done yet, in
// generations, so that Flush can wait for exactly the events handed over
// before it was called: Flush seals the current generation and waits for it
// (and any older one still open) to reach zero, while later events count in
// a new generation and do not keep it waiting.
type tracker struct {
	mu   sync.Mutex
	cur  *gen
	open []*gen // sealed, not yet zero
}

// gen is one generation of events. Its zero channel is closed once it is
// sealed and all its events are done.
type gen struct {
	n      int
	sealed bool
	zero   chan struct{}
}

func newGen() *gen { return &gen{zero: make(chan struct{})} }

// add counts one more event in the current generation and returns it.
func (t *tracker) add() *gen {
	t.mu.Lock()
	if t.cur == nil {
		t.cur = newGen()
	}
	g := t.cur
	g.n++
	t.mu.Unlock()
	return g
}

// release marks one event of g done.
func (t *tracker) release(g *gen) {
	t.mu.Lock()
	g.n--
	if g.sealed && g.n == 0 {
		t.close(g)
	}
	t.mu.Unlock()
}

// close closes g's zero channel and forgets it; t.mu is held.
func (t *tracker) close(g *gen) {
	close(g.zero)
	for i, o := range t.open {
		if o == g {
			t.open = append(t.open[:i], t.open[i+1:]...)
			break
		}
	}
}

// wait seals the current generation and waits until it and every older
// open generation are done, or ctx ends.
func (t *tracker) wait(ctx context.Context) error {
	t.mu.Lock()
	if g := t.cur; g != nil {
		t.cur = nil
		g.sealed = true
		if g.n == 0 {
			close(g.zero)
		} else {
			t.open = append(t.open, g)
		}
	}
	pending := make([]*gen, len(t.open))
	copy(pending, t.open)
	t.mu.Unlock()
	for _, g := range pending {
		select {
		case <-g.zero:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// pending returns the number of events not yet done.
func (t *tracker) pending() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	if t.cur != nil {
		n = t.cur.n
	}
	for _, g := range t.open {
		n += g.n
	}
	return n
}
