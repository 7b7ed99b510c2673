package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/tailab/tailab/internal/errclass"
	"github.com/tailab/tailab/provision"
)

// validOutput checks an -o value.
func validOutput(o string, valid ...string) error {
	for _, v := range valid {
		if o == v {
			return nil
		}
	}
	return errclass.Usagef("unknown output %q (valid: %s)", o, strings.Join(valid, ", "))
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table writes aligned columns.
type table struct{ tw *tabwriter.Writer }

func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}
	t.row(header...)
	return t
}

func (t *table) row(cols ...string) { fmt.Fprintln(t.tw, strings.Join(cols, "\t")) }
func (t *table) flush() error       { return t.tw.Flush() }

// lineObserver prints one plain line per progress event: the display of `up`
// and `down` when stderr is not a terminal (progress.go has the terminal one).
type lineObserver struct {
	mu    sync.Mutex
	w     io.Writer
	quiet bool
	start time.Time
	now   func() time.Time // nil: time.Now
}

func (o *lineObserver) Event(e provision.Event) {
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

func (o *lineObserver) Machine(provision.MachineState) {}
