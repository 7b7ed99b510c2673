package gateway

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/tailab/tailab/checks"
)

// recorder writes one terminal session as asciicast v2: a header line, then
// one JSON array per event, [seconds, "o"|"i"|"r"|"m", data]. Output that ends in
// the middle of a UTF-8 character is held until the rest arrives, so every
// event is valid text. It holds what the machine printed, the window sizes
// and, only when asked, what the candidate typed: never the gateway's
// credentials, which travel in the SSH authentication, not in the terminal.
//
// Recording never delays a terminal: an event is encoded and queued in
// order, and a goroutine of its own writes the queue to the file as soon as
// it can (a killed gateway keeps what was written). A synchronous write per
// event put the disk on every keystroke's path: a write waiting on the
// file system's journal held the terminal's output for as long. A disk so
// slow that the queue passes maxBacklog loses the events past it, not the
// terminal: the file then says so with a marker event where they were.
type recorder struct {
	mu      sync.Mutex
	f       *os.File
	out     io.Writer // f (a test puts a slow disk in front of it)
	start   time.Time
	input   bool
	held    map[string][]byte // "o"/"i" → incomplete UTF-8 tail
	pending []byte            // encoded events not written yet, in order
	spare   []byte            // the previous write's buffer, reused
	lost    int               // bytes of events dropped since the last write
	lostAt  time.Duration     // when the first of them was dropped
	closing bool
	wake    chan struct{} // pending has data, or closing
	done    chan struct{} // the writer wrote everything and stopped
	werr    error         // the writer's first error
	Path    string
	// index, when set, indexes the recording with the session's results: at
	// the start (a killed gateway leaves it listed) and at the close
	// (duration and size).
	index func(checks.Recording)
	info  checks.Recording
}

// maxBacklog bounds what a recording queues for a disk that does not keep
// up (per terminal): far more than a burst of output between two writes.
const maxBacklog = 4 << 20

// recordDisk is where a recording's bytes go: its file (a test puts a slow
// disk in front of it).
var recordDisk = func(f *os.File) io.Writer { return f }

// newRecording starts recording a terminal of candidate on machine into
// Config.RecordDir, indexed with the session's results (nil when the
// gateway records nothing).
func (g *Gateway) newRecording(candidate, machine, term string, cols, rows int) (*recorder, error) {
	if g.cfg.RecordDir == "" {
		return nil, nil
	}
	return newRecorder(g.cfg.RecordDir, candidate, machine, term, cols, rows, g.cfg.RecordInput, g.audit.index) // batched with the audit log
}

type castHeader struct {
	Version   int               `json:"version"`
	Width     int               `json:"width"`
	Height    int               `json:"height"`
	Timestamp int64             `json:"timestamp"`
	Title     string            `json:"title,omitempty"`
	Env       map[string]string `json:"env,omitempty"`
}

// newRecorder creates DIR/CANDIDATE/MACHINE-TIME.cast (mode 0600) and
// starts its writer; index, when not nil, indexes it (see recorder.index).
func newRecorder(dir, candidate, machine, term string, cols, rows int, input bool, index func(checks.Recording)) (*recorder, error) {
	d := filepath.Join(dir, candidate)
	if err := os.MkdirAll(d, 0o700); err != nil {
		return nil, err
	}
	t := now()
	var f *os.File
	var path string
	for i := 0; ; i++ {
		name := fmt.Sprintf("%s-%s.cast", machine, t.UTC().Format("20060102T150405Z"))
		if i > 0 {
			name = fmt.Sprintf("%s-%s-%d.cast", machine, t.UTC().Format("20060102T150405Z"), i)
		}
		path = filepath.Join(d, name)
		var err error
		f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			break
		}
		if !os.IsExist(err) || i > 100 {
			return nil, err
		}
	}
	r := &recorder{f: f, out: recordDisk(f), start: t, input: input, held: map[string][]byte{}, Path: path,
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	if cols <= 0 {
		cols = 80
	}
	if rows <= 0 {
		rows = 24
	}
	h := castHeader{Version: 2, Width: cols, Height: rows, Timestamp: t.Unix(), Title: candidate + " — " + machine}
	if term != "" {
		h.Env = map[string]string{"TERM": term}
	}
	b, _ := json.Marshal(h)
	r.pending = append(b, '\n')
	r.index = index
	r.info = checks.Recording{ID: strings.TrimSuffix(filepath.Base(path), ".cast"), Candidate: candidate, Machine: machine,
		Start: t.UTC(), File: path}
	go r.run()
	return r, nil
}

func (r *recorder) event(kind string, data []byte) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if kind != "r" {
		data = append(r.held[kind], data...)
		cut := len(data)
		// hold back an incomplete character at the end (at most 3 bytes)
		for i := len(data) - 1; i >= 0 && i >= len(data)-3; i-- {
			if utf8.RuneStart(data[i]) {
				if !utf8.FullRune(data[i:]) {
					cut = i
				}
				break
			}
		}
		r.held[kind] = append([]byte(nil), data[cut:]...)
		data = data[:cut]
		if len(data) == 0 {
			return
		}
	}
	r.queue(time.Since(r.start), kind, string(data))
}

// queue appends an event to what the writer writes next (r.mu held).
func (r *recorder) queue(at time.Duration, kind, data string) {
	if r.closing {
		return
	}
	b, _ := json.Marshal([]any{float64(at.Microseconds()) / 1e6, kind, data})
	if r.lost > 0 || len(r.pending)+len(b) >= maxBacklog {
		if r.lost == 0 {
			r.lostAt = at
		}
		r.lost += len(b)
		return
	}
	r.pending = append(append(r.pending, b...), '\n')
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// run writes what is queued, until close; it indexes the recording first,
// off the terminal's path (a store transaction waits on the disk too).
func (r *recorder) run() {
	defer close(r.done)
	if r.index != nil {
		r.index(r.info)
	}
	for {
		r.mu.Lock()
		for len(r.pending) == 0 && r.lost == 0 && !r.closing {
			r.mu.Unlock()
			<-r.wake
			r.mu.Lock()
		}
		if len(r.pending) == 0 && r.lost == 0 {
			r.mu.Unlock()
			return // closing, and all written
		}
		buf, lost, lostAt := r.pending, r.lost, r.lostAt
		r.pending, r.spare, r.lost = r.spare[:0], nil, 0
		r.mu.Unlock()
		if lost > 0 { // where the dropped events were: after buf, before what follows
			m, _ := json.Marshal([]any{float64(lostAt.Microseconds()) / 1e6, "m",
				fmt.Sprintf("enregistrement incomplet : %d octets perdus (disque trop lent)", lost)})
			buf = append(append(buf, m...), '\n')
		}
		if _, err := r.out.Write(buf); err != nil && r.werr == nil {
			r.werr = err
		}
		if cap(buf) <= 64<<10 { // a burst's large buffer is not kept
			r.mu.Lock()
			r.spare = buf[:0]
			r.mu.Unlock()
		}
	}
}

// Write records output.
func (r *recorder) Write(p []byte) (int, error) {
	r.event("o", p)
	return len(p), nil
}

// typed records input, when input recording is on.
func (r *recorder) typed(p []byte) {
	if r != nil && r.input {
		r.event("i", p)
	}
}

// resize records a window size change.
func (r *recorder) resize(cols, rows int) {
	r.event("r", fmt.Appendf(nil, "%dx%d", cols, rows))
}

// close writes what is queued, then indexes and closes the file. It waits
// for the disk, after the terminal's end.
func (r *recorder) close() error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	r.closing = true
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
	<-r.done
	err := r.werr
	if r.index != nil {
		r.info.Duration = time.Since(r.start)
		if fi, err := r.f.Stat(); err == nil {
			r.info.Size = fi.Size()
		}
		r.index(r.info)
	}
	if cerr := r.f.Close(); err == nil {
		err = cerr
	}
	return err
}
