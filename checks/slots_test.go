package checks

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"
)

// TestLongestBatchesFirst: with one slot, the batches of every candidate run
// by number of checks, most first, then in candidate and suite order.
func TestLongestBatchesFirst(t *testing.T) {
	reg, fake, other := testRegistry()
	log := &runLog{}
	fake.order, other.order = log, log
	s := suiteFrom(t, reg, batchSuite)
	r := &Runner{Registry: reg, Concurrency: 1, Clock: &fakeClock{now: t0}}
	rep, err := r.Run(context.Background(), Session{}, []*Suite{s}, []Candidate{candidate("c1", 1, "dc", "pc1"), candidate("c2", 2, "dc", "pc1")})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"fake c1/dc 3", "fake c2/dc 3", "fake c1/pc1 2", "fake c2/pc1 2",
		"other c1/dc 1", "other c1/pc1 1", "other c2/dc 1", "other c2/pc1 1",
	}
	if !reflect.DeepEqual(log.runs, want) {
		t.Errorf("runs in order\n%q\nwant\n%q", log.runs, want)
	}
	if rep.Totals().Pass != 2*7 {
		t.Errorf("totals = %+v", rep.Totals())
	}
}

// TestSlotsHandOverByWeight: a freed slot goes to the heaviest waiter, then the
// first come; a waiter whose context ends leaves the queue holding nothing.
func TestSlotsHandOverByWeight(t *testing.T) {
	s := newSlots(1)
	ctx := context.Background()
	if err := s.acquire(ctx, 1); err != nil {
		t.Fatal(err)
	}
	got := make(chan int, 8)
	waitFor := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; {
			s.mu.Lock()
			k := len(s.waiting)
			s.mu.Unlock()
			if k == n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d waiters, want %d", k, n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancelled := make(chan error, 1)
	go func() { cancelled <- s.acquire(cctx, 9) }()
	waitFor(1)
	for i, w := range []int{2, 5, 2, 7} {
		go func() {
			if s.acquire(ctx, w) == nil {
				got <- w*10 + i
			}
		}()
		waitFor(i + 2)
	}
	cancel()
	if err := <-cancelled; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled waiter: %v", err)
	}
	waitFor(4)
	var order []int
	for range 4 {
		s.release()
		order = append(order, <-got)
	}
	if want := []int{73, 51, 20, 22}; !reflect.DeepEqual(order, want) {
		t.Errorf("slots handed over to (weight*10+arrival) %v, want %v", order, want)
	}
	s.release()
	if s.free != 1 || len(s.waiting) != 0 {
		t.Errorf("free %d, waiting %d after every release", s.free, len(s.waiting))
	}
}
