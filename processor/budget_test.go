package processor

import (
	"context"
	"testing"
	"testing/synctest"
)

func TestBudgetWaitWakesOnRelease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBudget(bounds{events: 10, bytes: 1000}, 4, 100)
		b.add(9, 90)
		woke := make(chan bool, 1)
		go func() { woke <- b.wait(context.Background()) }()

		b.release(2, 20) // room 3: not enough
		if _, done := returned(woke); done {
			t.Fatal("wait returned with room 3, want 4")
		}
		b.release(1, 10)
		if ok, done := returned(woke); !done || !ok {
			t.Fatalf("wait with room 4: returned %v with %v, want true with true", done, ok)
		}
		if u := b.usage(); u.events != 6 || u.bytes != 60 {
			t.Fatalf("usage %+v, want 6 records of 60 bytes", u)
		}
	})
}

func TestBudgetWaitEndsWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBudget(bounds{events: 1, bytes: 1000}, 1, 0)
		b.add(1, 10)
		ctx, cancel := context.WithCancel(context.Background())
		woke := make(chan bool, 1)
		go func() { woke <- b.wait(ctx) }()
		synctest.Wait()
		cancel()
		if ok := <-woke; ok {
			t.Fatal("wait reported room after its context ended")
		}
		b.release(1, 10)
		if !b.wait(context.Background()) {
			t.Fatal("wait with room must return at once")
		}
	})
}

func TestBudgetWaitProcessedWakesOnProcessed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBudget(bounds{events: 100, bytes: 1000}, 1, 0)
		b.add(30, 300)
		woke := make(chan bool, 1)
		go func() { woke <- b.waitProcessed(context.Background(), 10) }()

		b.processed(15)    // 15 unprocessed: more than 10
		b.release(30, 300) // room does not matter to this wait
		if _, done := returned(woke); done {
			t.Fatal("waitProcessed returned with 15 unprocessed, want at most 10")
		}
		b.processed(5)
		if ok, done := returned(woke); !done || !ok {
			t.Fatalf("waitProcessed at 10 unprocessed: returned %v with %v, want true with true", done, ok)
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

func TestBudgetWaitWakesOnBytes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Records to spare, but a poll may bring 100 bytes and only 50 are free.
		b := newBudget(bounds{events: 100, bytes: 1000}, 1, 100)
		b.add(2, 950)
		woke := make(chan bool, 1)
		go func() { woke <- b.wait(context.Background()) }()
		if _, done := returned(woke); done {
			t.Fatal("wait returned with 50 bytes free, want 100")
		}
		b.release(1, 50)
		if ok, done := returned(woke); !done || !ok {
			t.Fatalf("wait with 100 bytes free: returned %v with %v, want true with true", done, ok)
		}
	})
}

// returned waits until every goroutine of the bubble is blocked and reports
// whether the wait sending to woke has returned, and with what.
func returned(woke <-chan bool) (ok, done bool) {
	synctest.Wait()
	select {
	case ok := <-woke:
		return ok, true
	default:
		return false, false
	}
}
