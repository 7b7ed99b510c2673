package probe

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestEach(t *testing.T) {
	for _, tc := range []struct {
		name     string
		n, limit int
		wantMax  int64
	}{
		{"none", 0, 4, 0},
		{"sequential", 5, 1, 1},
		{"limit below 1 is sequential", 5, 0, 1},
		{"bounded", 20, 4, 4},
		{"limit above n", 3, 16, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var (
				mu         sync.Mutex
				seen       = map[int]int{}
				running    atomic.Int64
				maxRunning atomic.Int64
			)
			Each(tc.n, tc.limit, func(i int) {
				now := running.Add(1)
				for {
					m := maxRunning.Load()
					if now <= m || maxRunning.CompareAndSwap(m, now) {
						break
					}
				}
				time.Sleep(5 * time.Millisecond) // overlap, when allowed
				running.Add(-1)
				mu.Lock()
				seen[i]++
				mu.Unlock()
			})
			if len(seen) != tc.n {
				t.Fatalf("called for %d indexes, want %d", len(seen), tc.n)
			}
			for i, c := range seen {
				if i < 0 || i >= tc.n || c != 1 {
					t.Fatalf("index %d called %d times", i, c)
				}
			}
			if got := maxRunning.Load(); got > tc.wantMax || (tc.n > 1 && tc.wantMax > 1 && got < 2) {
				t.Fatalf("%d calls at once, want at most %d (and some overlap)", got, tc.wantMax)
			}
		})
	}
}
