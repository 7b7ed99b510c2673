package gateway

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/tailab/tailab/checks"
)

// recorder writes one terminal session as asciicast v2: a header line, then
// one JSON array per event, [seconds, "o"|"i"|"r", data]. Output that ends in
// the middle of a UTF-8 character is held until the rest arrives, so every
// event is valid text. It holds what the machine printed, the window sizes
// and, only when asked, what the candidate typed: never the gateway's
// credentials, which travel in the SSH authentication, not in the terminal.
type recorder struct {
	mu    sync.Mutex
	f     *os.File
	w     *bufio.Writer
	start time.Time
	input bool
	held  map[string][]byte // "o"/"i" → incomplete UTF-8 tail
	Path  string
	// index, when set, indexes the recording with the session's results: at
	// the start (a killed gateway leaves it listed) and at the close
	// (duration and size).
	index func(checks.Recording)
	info  checks.Recording
}

// newRecording starts recording a terminal of candidate on machine into
// Config.RecordDir, indexed with the session's results (nil when the
// gateway records nothing).
func (g *Gateway) newRecording(candidate, machine, term string, cols, rows int) (*recorder, error) {
	if g.cfg.RecordDir == "" {
		return nil, nil
	}
	r, err := newRecorder(g.cfg.RecordDir, candidate, machine, term, cols, rows, g.cfg.RecordInput)
	if err != nil {
		return nil, err
	}
	r.info = checks.Recording{ID: strings.TrimSuffix(filepath.Base(r.Path), ".cast"), Candidate: candidate, Machine: machine,
		Start: r.start.UTC(), File: r.Path}
	r.index = func(rec checks.Recording) {
		if err := g.results.SaveRecording(g.sess.Name, rec); err != nil {
			g.cfg.Log.Error("recording index", "err", err)
		}
	}
	r.index(r.info)
	return r, nil
}

type castHeader struct {
	Version   int               `json:"version"`
	Width     int               `json:"width"`
	Height    int               `json:"height"`
	Timestamp int64             `json:"timestamp"`
	Title     string            `json:"title,omitempty"`
	Env       map[string]string `json:"env,omitempty"`
}

// newRecorder creates DIR/CANDIDATE/MACHINE-TIME.cast (mode 0600).
func newRecorder(dir, candidate, machine, term string, cols, rows int, input bool) (*recorder, error) {
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
	r := &recorder{f: f, w: bufio.NewWriter(f), start: t, input: input, held: map[string][]byte{}, Path: path}
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
	r.w.Write(append(b, '\n'))
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
	b, _ := json.Marshal([]any{float64(time.Since(r.start).Microseconds()) / 1e6, kind, string(data)})
	r.w.Write(append(b, '\n'))
	r.w.Flush() // a killed gateway keeps what was recorded
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

// close flushes and closes the file.
func (r *recorder) close() error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	err := r.w.Flush()
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
