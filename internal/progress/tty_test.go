package progress

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
)

var progressStart = time.Date(2026, 6, 3, 8, 0, 0, 0, time.UTC)

// instances: c01 and c02, each with srv and pc1.
func progressInstances() []*labs.Instance {
	var out []*labs.Instance
	for _, id := range []string{"c01", "c02"} {
		out = append(out, &labs.Instance{Candidate: labs.Candidate{ID: id},
			Machines: []labs.Machine{{Name: "srv"}, {Name: "pc1"}}})
	}
	return out
}

// progressEvents is an `up` of two candidates: a network, machines created and
// ready, one failure. at is seconds after the start.
var progressEvents = []struct {
	at float64
	e  provision.Event
}{
	{0.2, provision.Event{Candidate: "c01", Resource: "tl-s1.c01.lan", What: "created"}},
	{1.0, provision.Event{Candidate: "c01", Machine: "srv", Resource: "tl-s1.c01.srv", What: "created", Elapsed: 800 * time.Millisecond}},
	{1.5, provision.Event{Candidate: "c02", Machine: "srv", Resource: "tl-s1.c02.srv", What: "kept"}},
	{4.0, provision.Event{Candidate: "c01", Machine: "srv", What: "ready", Elapsed: 3 * time.Second}},
	{6.0, provision.Event{Candidate: "c02", Machine: "pc1", What: "failed", Err: errors.New("define domain: no space left")}},
	{8.0, provision.Event{Candidate: "c02", Machine: "srv", What: "ready", Elapsed: 6500 * time.Millisecond}},
}

func TestPickObserver(t *testing.T) {
	tests := []struct {
		name         string
		tty          bool
		quiet, plain bool
		want         string
	}{
		{"terminal", true, false, false, "tty"},
		{"pipe or file", false, false, false, "lines"},
		{"terminal, --quiet", true, true, false, "lines"},
		{"terminal, --no-color", true, false, true, "lines"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := "lines"
			switch o := pick(&bytes.Buffer{}, tt.tty, 80, tt.quiet, tt.plain, progressInstances(), progressStart, true).(type) {
			case *tty:
				got = "tty"
			case *Lines:
				if o.quiet != tt.quiet {
					t.Errorf("quiet = %v", o.quiet)
				}
			}
			if got != tt.want {
				t.Errorf("observer %s, want %s", got, tt.want)
			}
		})
	}
}

// TestPlainLines: off a terminal, up prints the same plain lines as before the
// terminal display existed (and only the failures with --quiet).
func TestPlainLines(t *testing.T) {
	tests := []struct {
		quiet bool
		want  string
	}{
		{false, `   0.2s  c01                      created
   1.0s  c01/srv                  created (0.8s)
   1.5s  c02/srv                  kept
   4.0s  c01/srv                  ready (3.0s)
   6.0s  c02/pc1                  failed: define domain: no space left
   8.0s  c02/srv                  ready (6.5s)
`},
		{true, "   6.0s  c02/pc1                  failed: define domain: no space left\n"},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		obs := ForUp(&buf, tt.quiet, false, progressInstances(), progressStart, true)
		lo, ok := obs.(*Lines)
		if !ok {
			t.Fatalf("a buffer is not a terminal: got %T", obs)
		}
		var now time.Time
		lo.now = func() time.Time { return now }
		for _, ev := range progressEvents {
			now = progressStart.Add(time.Duration(ev.at * float64(time.Second)))
			obs.Event(ev.e)
		}
		if buf.String() != tt.want {
			t.Errorf("quiet=%v:\n%s\nwant:\n%s", tt.quiet, buf.String(), tt.want)
		}
	}
}

// TestTTYFrames renders the block after each event.
func TestTTYFrames(t *testing.T) {
	frames := []string{
		// network created: no machine step changes
		`c01  0/2  srv: waiting, pc1: waiting
c02  0/2  srv: waiting, pc1: waiting
[........................] 0/4 ready, 0.2s, ETA -`,
		`c01  0/2  srv: created, pc1: waiting
c02  0/2  srv: waiting, pc1: waiting
[........................] 0/4 ready, 1.0s, ETA -`,
		`c01  0/2  srv: created, pc1: waiting
c02  0/2  srv: kept, pc1: waiting
[........................] 0/4 ready, 1.5s, ETA -`,
		`c01  1/2  srv: ready, pc1: waiting
c02  0/2  srv: kept, pc1: waiting
[######..................] 1/4 ready, 4.0s, ETA 12s`,
		`c01  1/2  srv: ready, pc1: waiting
c02  0/2  srv: kept, pc1: failed
[############............] 1/4 ready, 1 failed, 6.0s, ETA 6s`,
		`c01  1/2  srv: ready, pc1: waiting
c02  1/2  srv: ready, pc1: failed
[##################......] 2/4 ready, 1 failed, 8.0s, ETA 3s`,
	}
	var buf bytes.Buffer
	o := newTTY(&buf, progressInstances(), progressStart, true)
	var now time.Time
	o.now = func() time.Time { return now }
	for i, ev := range progressEvents {
		now = progressStart.Add(time.Duration(ev.at * float64(time.Second)))
		o.Event(ev.e)
		if got := strings.Join(o.frame(), "\n"); got != frames[i] {
			t.Errorf("after event %d (%s %s):\n%s\nwant:\n%s", i, ev.e.Machine, ev.e.What, got, frames[i])
		}
	}
	// Without waiting for readiness, a started machine is done.
	o = newTTY(&buf, progressInstances()[:1], progressStart, false)
	o.now = func() time.Time { return progressStart.Add(2 * time.Second) }
	o.Event(provision.Event{Candidate: "c01", Machine: "srv", What: "created"})
	o.Event(provision.Event{Candidate: "c01", Machine: "pc1", What: "started"})
	want := "c01  2/2  srv: created, pc1: started\n[########################] 2/2 started, 2.0s, done"
	if got := strings.Join(o.frame(), "\n"); got != want {
		t.Errorf("no-wait frame:\n%s\nwant:\n%s", got, want)
	}
}

// TestTTYOutput checks what reaches the terminal: each frame redraws over the
// last one in place, a failure is printed once above the block and stays.
func TestTTYOutput(t *testing.T) {
	var buf bytes.Buffer
	o := newTTY(&buf, progressInstances()[:1], progressStart, true)
	o.width = 30
	o.now = func() time.Time { return progressStart.Add(time.Second) }
	o.Event(provision.Event{Candidate: "c01", Machine: "srv", What: "created"})
	o.Event(provision.Event{Candidate: "c01", Machine: "pc1", What: "failed", Err: errors.New("boom")})
	o.Event(provision.Event{Candidate: "c01", Machine: "srv", What: "ready"})
	const cl = "\r\x1b[2K"
	want := "" +
		// first frame: two lines, cut at the terminal's width
		cl + "c01  0/2  srv: created, pc1: \n" +
		cl + "[........................] 0/\n" +
		// failure: erase the block, print the line, redraw below it
		"\x1b[2A" + cl + "\n" + cl + "\n" + "\x1b[2A" +
		"   1.0s  c01/pc1                  failed: boom\n" +
		cl + "c01  0/2  srv: created, pc1: \n" +
		cl + "[############............] 0/\n" +
		// next frame over it
		"\x1b[2A" +
		cl + "c01  1/2  srv: ready, pc1: fa\n" +
		cl + "[########################] 1/\n"
	if got := buf.String(); got != want {
		t.Errorf("terminal output:\n%q\nwant:\n%q", got, want)
	}
}
