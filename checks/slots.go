package checks

import (
	"container/heap"
	"context"
	"sync"
)

// slots bounds the probe runs at once and hands a freed slot to the waiting
// batch with the most checks (then the one that asked first): the longest
// batches of the whole session start first and the short ones fill the gaps,
// so the grading ends about when its longest batch does instead of when the
// last candidate's big batch, queued behind everyone's small ones, does.
type slots struct {
	mu      sync.Mutex
	free    int
	seq     int
	waiting waiters
}

func newSlots(n int) *slots { return &slots{free: max(n, 1)} }

// acquire waits for a slot, with priority weight (more first); it returns
// ctx's error, holding nothing, when ctx ends first.
func (s *slots) acquire(ctx context.Context, weight int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	if s.free > 0 && len(s.waiting) == 0 {
		s.free--
		s.mu.Unlock()
		return nil
	}
	w := &waiter{weight: weight, seq: s.seq, ready: make(chan struct{})}
	s.seq++
	heap.Push(&s.waiting, w)
	s.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		defer s.mu.Unlock()
		if w.index < 0 { // handed a slot meanwhile: give it back
			s.releaseLocked()
		} else {
			heap.Remove(&s.waiting, w.index)
		}
		return ctx.Err()
	}
}

// release frees a slot, handing it to the first waiter.
func (s *slots) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.releaseLocked()
}

func (s *slots) releaseLocked() {
	if len(s.waiting) == 0 {
		s.free++
		return
	}
	w := heap.Pop(&s.waiting).(*waiter)
	close(w.ready)
}

type waiter struct {
	weight, seq int
	index       int // in the heap; -1 once handed a slot
	ready       chan struct{}
}

// waiters is a heap: most weight first, then first come.
type waiters []*waiter

func (h waiters) Len() int { return len(h) }
func (h waiters) Less(i, j int) bool {
	if h[i].weight != h[j].weight {
		return h[i].weight > h[j].weight
	}
	return h[i].seq < h[j].seq
}
func (h waiters) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *waiters) Push(x any) {
	w := x.(*waiter)
	w.index = len(*h)
	*h = append(*h, w)
}
func (h *waiters) Pop() any {
	old := *h
	w := old[len(old)-1]
	old[len(old)-1] = nil
	w.index = -1
	*h = old[:len(old)-1]
	return w
}
