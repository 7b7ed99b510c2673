package probe

import (
	"sync"
	"sync/atomic"
)

// Each calls fn(i) for every i in [0, n), at most limit calls at a time
// (limit < 1: one at a time), starting them in index order, and returns when
// they have all returned.
//
// Probes observe a batch's independent requests with it: a machine then takes
// about as long as its slowest check rather than the sum of its checks. That
// matters most for a candidate whose service is down, where every check waits
// out its timeout, and on a loaded host, where each round trip waits for a
// core.
func Each(n, limit int, fn func(i int)) {
	limit = min(max(limit, 1), n)
	if limit <= 1 {
		for i := 0; i < n; i++ {
			fn(i)
		}
		return
	}
	var (
		wg   sync.WaitGroup
		next atomic.Int64
	)
	for range limit {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(i)
			}
		}()
	}
	wg.Wait()
}
