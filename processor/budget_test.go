package processor

import (
	"context"
	"testing"
	"time"
)

func TestBudgetWaitWakesOnRelease(t *testing.T) {
	b := newBudget(10)
	b.add(9)
	woke := make(chan bool)
	go func() { woke <- b.wait(context.Background(), 4) }()

	b.release(2) // room 3: not enough
	select {
	case <-woke:
		t.Fatal("wait returned with room 3, want 4")
	case <-time.After(20 * time.Millisecond): // proving a non-event needs a bound
	}
	b.release(1)
	select {
	case ok := <-woke:
		if !ok {
			t.Fatal("wait reported false with room")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("wait did not wake with room 4")
	}
	if b.room() != 4 || b.used() != 6 {
		t.Fatalf("room %d used %d, want 4 and 6", b.room(), b.used())
	}
}

func TestBudgetWaitEndsWithContext(t *testing.T) {
	b := newBudget(1)
	b.add(1)
	ctx, cancel := context.WithCancel(context.Background())
	woke := make(chan bool)
	go func() { woke <- b.wait(ctx, 1) }()
	cancel()
	if ok := <-woke; ok {
		t.Fatal("wait reported room after its context ended")
	}
	if !b.wait(context.Background(), 0) {
		t.Fatal("wait for no room must return at once")
	}
}
