package libvirt

import (
	"bufio"
	"fmt"
	"os"
	"sync"
	"time"
)

// Timings (Config.Timings) are where `up` and `down` go, phase by phase and
// libvirt call by call: every span of provider work (a network's define, a
// domain's start, the mount helper, an nft run, a readiness wait...) with its
// subject, start and length, appended to a file when the provider closes.
// bench/up-down.sh sums them per phase (bench/timings.awk); docs/benchmarks.md
// has the breakdown. Off (no file) it costs a nil check.
type timings struct {
	mu    sync.Mutex
	t0    time.Time
	spans []span
}

// span is one timed piece of work.
type span struct {
	Phase, Subject string
	Start, Dur     time.Duration
}

// timed starts a span of phase on subject (a domain, a network, "" for the
// session) and returns what ends it. A nil provider times nothing.
func (p *Provider) timed(phase, subject string) func() {
	if p == nil || p.root().tim == nil {
		return func() {}
	}
	t := p.root().tim
	start := time.Now()
	return func() {
		end := time.Now()
		t.mu.Lock()
		t.spans = append(t.spans, span{phase, subject, start.Sub(t.t0), end.Sub(start)})
		t.mu.Unlock()
	}
}

// root is the provider that owns connections and timings (a host view's parent).
func (p *Provider) root() *Provider {
	if p.parent != nil {
		return p.parent
	}
	return p
}

// writeTimings appends the spans to Config.Timings, one per line:
// PHASE SUBJECT START_MS DURATION_MS (tab-separated; START from the
// provider's creation).
func (p *Provider) writeTimings() error {
	t := p.tim
	if t == nil || p.cfg.Timings == "" {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	f, err := os.OpenFile(p.cfg.Timings, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("timings: %w", err)
	}
	w := bufio.NewWriter(f)
	for _, s := range t.spans {
		subject := s.Subject
		if subject == "" {
			subject = "-"
		}
		fmt.Fprintf(w, "%s\t%s\t%.3f\t%.3f\n", s.Phase, subject, ms(s.Start), ms(s.Dur))
	}
	t.spans = nil
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("timings: %w", err)
	}
	return f.Close()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
