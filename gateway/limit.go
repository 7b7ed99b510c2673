package gateway

import (
	"sync"
	"time"
)

// limiter counts failed logins per key (a source address, a login) over a
// sliding period: past max failures in period, the key is refused until the
// oldest failure leaves the period. Successful logins do not count.
type limiter struct {
	max    int
	period time.Duration

	mu       sync.Mutex
	failures map[string][]time.Time
}

func newLimiter(max int, period time.Duration) *limiter {
	return &limiter{max: max, period: period, failures: map[string][]time.Time{}}
}

// blocked reports whether key is refused at now, and for how long.
func (l *limiter) blocked(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.prune(key, now)
	if len(f) < l.max {
		return false, 0
	}
	return true, f[0].Add(l.period).Sub(now)
}

// fail records a failure of key at now.
func (l *limiter) fail(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.prune(key, now)
	if len(f) >= l.max { // keep memory bounded under a flood: the key is blocked anyway
		f = f[1:]
	}
	l.failures[key] = append(f, now)
	if len(l.failures) > 100000 { // a flood of distinct keys: forget the quietest
		for k, v := range l.failures {
			if len(v) == 0 || now.Sub(v[len(v)-1]) > l.period/2 {
				delete(l.failures, k)
			}
		}
	}
}

func (l *limiter) prune(key string, now time.Time) []time.Time {
	f := l.failures[key]
	i := 0
	for i < len(f) && now.Sub(f[i]) >= l.period {
		i++
	}
	if i == len(f) {
		delete(l.failures, key)
		return nil
	}
	f = f[i:]
	l.failures[key] = f
	return f
}
