package progress

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/tailab/tailab/provision"
)

// NewLines prints events on w as plain lines, timed from start; quiet prints
// only failures.
func NewLines(w io.Writer, quiet bool, start time.Time) *Lines {
	return &Lines{w: w, quiet: quiet, start: start}
}

// Lines prints one plain line per progress event: the display of `up`
// and `down` when stderr is not a terminal (tty is the terminal one).
type Lines struct {
	mu    sync.Mutex
	w     io.Writer
	quiet bool
	start time.Time
	now   func() time.Time // nil: time.Now
}

func (o *Lines) Event(e provision.Event) {
	if o.quiet && e.Err == nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	who := e.Candidate
	if e.Machine != "" {
		who += "/" + e.Machine
	}
	if who == "" {
		who = e.Resource
	}
	now := time.Now
	if o.now != nil {
		now = o.now
	}
	line := fmt.Sprintf("%6.1fs  %-24s %s", now().Sub(o.start).Seconds(), who, e.What)
	if e.Elapsed > 0 {
		line += fmt.Sprintf(" (%.1fs)", e.Elapsed.Seconds())
	}
	if e.Err != nil {
		line += ": " + e.Err.Error()
	}
	fmt.Fprintln(o.w, line)
}

func (o *Lines) Machine(provision.MachineState) {}
