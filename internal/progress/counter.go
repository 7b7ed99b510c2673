package progress

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Counter shows progress through a known number of items (candidates
// graded, steps verified): on a terminal, the item lines scroll above a bar
// redrawn in place with the count, elapsed time and ETA; elsewhere, only the
// item lines are printed.
type Counter struct {
	mu    sync.Mutex
	w     io.Writer
	tty   bool
	what  string
	total int
	done  int
	start time.Time
	now   func() time.Time
	drawn bool
}

// NewCounter counts total items of what on w; the bar shows only on a
// terminal, neither quiet nor plain.
func NewCounter(w io.Writer, quiet, plain bool, total int, what string) *Counter {
	_, tty := terminalWidth(w)
	return &Counter{w: w, tty: tty && !quiet && !plain, what: what, total: total, start: time.Now(), now: time.Now}
}

// Step counts one item and prints its line ("" prints nothing).
func (p *Counter) Step(line string) { p.print(line, 1) }

// Print prints a line above the bar without counting an item.
func (p *Counter) Print(line string) { p.print(line, 0) }

func (p *Counter) print(line string, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	if p.tty && p.drawn {
		fmt.Fprint(p.w, clearLine)
	}
	if line != "" {
		fmt.Fprintln(p.w, line)
	}
	if p.tty {
		fmt.Fprint(p.w, p.bar())
		p.drawn = true
	}
}

// Finish removes the bar.
func (p *Counter) Finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty && p.drawn {
		fmt.Fprint(p.w, clearLine)
		p.drawn = false
	}
}

func (p *Counter) bar() string {
	filled := 0
	if p.total > 0 {
		filled = min(p.done, p.total) * barWidth / p.total
	}
	elapsed := p.now().Sub(p.start)
	eta := "ETA -"
	switch {
	case p.done >= p.total:
		eta = "done"
	case p.done > 0:
		eta = "ETA " + time.Duration(float64(elapsed)/float64(p.done)*float64(p.total-p.done)).Round(time.Second).String()
	}
	return fmt.Sprintf("[%s%s] %d/%d %s, %.1fs, %s", strings.Repeat("#", filled), strings.Repeat(".", barWidth-filled),
		p.done, p.total, p.what, elapsed.Seconds(), eta)
}
