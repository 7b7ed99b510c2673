// Package progress draws the progress of long operations on the terminal:
// provisioning (ForUp: a line per candidate and a bar redrawn in place, or
// plain lines off a terminal) and a count of items (Counter: candidates
// graded, verification steps). Nothing here decides what to do: the command
// hands it events.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
)

// ForUp chooses the progress display of `up`: on a terminal (and neither
// quiet nor plain, i.e. --quiet or --no-color) one status line per candidate
// redrawn in place with a progress bar; plain lines otherwise.
func ForUp(w io.Writer, quiet, plain bool, ins []*labs.Instance, start time.Time, waitReady bool) provision.Observer {
	width, tty := terminalWidth(w)
	return pick(w, tty, width, quiet, plain, ins, start, waitReady)
}

// pick is ForUp once the terminal is known.
func pick(w io.Writer, tty bool, width int, quiet, plain bool, ins []*labs.Instance, start time.Time, waitReady bool) provision.Observer {
	if !tty || quiet || plain {
		return NewLines(w, quiet, start)
	}
	o := newTTY(w, ins, start, waitReady)
	o.width = width
	return o
}

// terminalWidth reports whether w is a terminal, and its width (0: unknown).
func terminalWidth(w io.Writer) (int, bool) {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return 0, false
	}
	width, _, err := term.GetSize(int(f.Fd()))
	if err != nil {
		return 0, true
	}
	return width, true
}

// Terminal control sequences.
const (
	cursorUp  = "\x1b[%dA" // move up N lines
	clearLine = "\r\x1b[2K"
)

// barWidth is the number of cells of the progress bar.
const barWidth = 24

// tty draws, below what was printed before it, one line per candidate
// (its machines' latest step) and a bar with the machines done out of the total,
// the elapsed time and an estimate of the time left; each event redraws them in
// place. Failures are printed as plain lines above the block, so they stay on
// screen.
type tty struct {
	mu        sync.Mutex
	w         io.Writer
	start     time.Time
	now       func() time.Time
	width     int  // terminal columns; 0: do not cut lines
	waitReady bool // machines are done once ready (else once started)

	cands    []string
	machines map[string][]string // candidate → machine names, in lab order
	step     map[string]string   // candidate/machine → latest step
	drawn    int                 // lines of the last frame
	plain    *Lines              // renders the permanent (failure) lines
}

func newTTY(w io.Writer, ins []*labs.Instance, start time.Time, waitReady bool) *tty {
	o := &tty{
		w: w, start: start, now: time.Now, waitReady: waitReady,
		machines: map[string][]string{}, step: map[string]string{},
	}
	o.plain = &Lines{w: w, start: start, now: func() time.Time { return o.now() }}
	for _, in := range ins {
		id := in.Candidate.ID
		o.cands = append(o.cands, id)
		for _, m := range in.Machines {
			o.machines[id] = append(o.machines[id], m.Name)
			o.step[id+"/"+m.Name] = "waiting"
		}
	}
	return o
}

// Event records the step and redraws.
func (o *tty) Event(e provision.Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	key := e.Candidate + "/" + e.Machine
	if _, known := o.step[key]; known && e.Machine != "" {
		o.step[key] = e.What
	}
	if e.Err != nil {
		o.erase()
		o.plain.Event(e)
	}
	o.draw()
}

// Machine is ignored: events carry the steps.
func (o *tty) Machine(provision.MachineState) {}

// erase moves back to the first line of the last frame and clears it.
func (o *tty) erase() {
	if o.drawn == 0 {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, cursorUp, o.drawn)
	for i := 0; i < o.drawn; i++ {
		b.WriteString(clearLine + "\n")
	}
	fmt.Fprintf(&b, cursorUp, o.drawn)
	io.WriteString(o.w, b.String())
	o.drawn = 0
}

// draw writes the current frame over the last one.
func (o *tty) draw() {
	lines := o.frame()
	var b strings.Builder
	if o.drawn > 0 {
		fmt.Fprintf(&b, cursorUp, o.drawn)
	}
	for _, l := range lines {
		if o.width > 0 && len([]rune(l)) >= o.width {
			l = string([]rune(l)[:o.width-1])
		}
		b.WriteString(clearLine + l + "\n")
	}
	io.WriteString(o.w, b.String())
	o.drawn = len(lines)
}

// done reports whether a step ends a machine's part of the run.
func (o *tty) done(step string) (finished, failed bool) {
	switch step {
	case "failed", "not ready":
		return true, true
	case "ready":
		return true, false
	case "created", "kept", "started":
		return !o.waitReady, false
	}
	return false, false
}

// frame renders the block: one line per candidate, then the bar.
func (o *tty) frame() []string {
	idw := 0
	for _, c := range o.cands {
		idw = max(idw, len(c))
	}
	var lines []string
	total, finished, failed := 0, 0, 0
	for _, c := range o.cands {
		var parts []string
		n, ok := 0, 0
		for _, m := range o.machines[c] {
			s := o.step[c+"/"+m]
			parts = append(parts, m+": "+s)
			fin, bad := o.done(s)
			n++
			if fin {
				finished++
				if bad {
					failed++
				} else {
					ok++
				}
			}
		}
		total += n
		lines = append(lines, fmt.Sprintf("%-*s  %d/%d  %s", idw, c, ok, n, strings.Join(parts, ", ")))
	}
	elapsed := o.now().Sub(o.start)
	filled := 0
	if total > 0 {
		filled = finished * barWidth / total
	}
	eta := "ETA -"
	switch {
	case total > 0 && finished == total:
		eta = "done"
	case finished > 0:
		left := time.Duration(float64(elapsed) / float64(finished) * float64(total-finished))
		eta = "ETA " + left.Round(time.Second).String()
	}
	what := "ready"
	if !o.waitReady {
		what = "started"
	}
	bar := fmt.Sprintf("[%s%s] %d/%d %s", strings.Repeat("#", filled), strings.Repeat(".", barWidth-filled), finished-failed, total, what)
	if failed > 0 {
		bar += fmt.Sprintf(", %d failed", failed)
	}
	bar += fmt.Sprintf(", %.1fs, %s", elapsed.Seconds(), eta)
	return append(lines, bar)
}
