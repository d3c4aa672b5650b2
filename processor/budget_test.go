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

func TestBudgetWaitProcessedWakesOnProcessed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBudget(100)
		b.add(30)
		woke := make(chan bool, 1)
		go func() { woke <- b.waitProcessed(context.Background(), 10) }()

		b.processed(15) // 15 unprocessed: more than 10
		b.release(30)   // room does not matter to this wait
		synctest.Wait()
		select {
		case <-woke:
			t.Fatal("waitProcessed returned with 15 unprocessed, want at most 10")
		default:
		}
		b.processed(5)
		synctest.Wait()
		select {
		case ok := <-woke:
			if !ok {
				t.Fatal("waitProcessed reported false")
			}
		default:
			t.Fatal("waitProcessed did not wake at 10 unprocessed")
		}
		ctx, cancel := context.WithCancel(context.Background())
		go func() { woke <- b.waitProcessed(ctx, 0) }()
		synctest.Wait()
		cancel()
		if ok := <-woke; ok {
			t.Fatal("waitProcessed reported true after its context ended")
		}
	})
}
