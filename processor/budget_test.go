package processor

import (
	"context"
	"testing"
	"testing/synctest"
)

func TestBudgetWaitWakesOnRelease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBudget(10)
		b.add(9)
		woke := make(chan bool, 1)
		go func() { woke <- b.wait(context.Background(), 4) }()

		b.release(2) // room 3: not enough
		synctest.Wait()
		select {
		case <-woke:
			t.Fatal("wait returned with room 3, want 4")
		default:
		}
		b.release(1)
		synctest.Wait()
		select {
		case ok := <-woke:
			if !ok {
				t.Fatal("wait reported false with room")
			}
		default:
			t.Fatal("wait did not wake with room 4")
		}
		if b.room() != 4 || b.used() != 6 {
			t.Fatalf("room %d used %d, want 4 and 6", b.room(), b.used())
		}
	})
}

func TestBudgetWaitEndsWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBudget(1)
		b.add(1)
		ctx, cancel := context.WithCancel(context.Background())
		woke := make(chan bool, 1)
		go func() { woke <- b.wait(ctx, 1) }()
		synctest.Wait()
		cancel()
		if ok := <-woke; ok {
			t.Fatal("wait reported room after its context ended")
		}
		if !b.wait(context.Background(), 0) {
			t.Fatal("wait for no room must return at once")
		}
	})
}
