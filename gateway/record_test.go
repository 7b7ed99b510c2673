package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/results"
)

// slowDisk is a disk that takes nothing until opened: its writes block.
type slowDisk struct {
	w       io.Writer
	gate    chan struct{}
	blocked chan struct{} // closed at the first write that waits
	once    sync.Once
}

func newSlowDisk(w io.Writer) *slowDisk {
	return &slowDisk{w: w, gate: make(chan struct{}), blocked: make(chan struct{})}
}

func (d *slowDisk) Write(p []byte) (int, error) {
	select {
	case <-d.gate:
	default:
		d.once.Do(func() { close(d.blocked) })
		<-d.gate
	}
	return d.w.Write(p)
}

func (d *slowDisk) open() { close(d.gate) }

// castEvents reads a cast file's events after its header.
func castEvents(t *testing.T, path string) (header map[string]any, events [][3]any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if err := json.Unmarshal([]byte(lines[0]), &header); err != nil {
		t.Fatalf("header %q: %v", lines[0], err)
	}
	for i, l := range lines[1:] {
		var e []any
		if err := json.Unmarshal([]byte(l), &e); err != nil || len(e) != 3 {
			t.Fatalf("event %d %q: %v", i+1, l, err)
		}
		events = append(events, [3]any{e[0], e[1], e[2]})
	}
	return header, events
}

// output is what a recording says the machine printed, in order; it fails
// if time goes backwards.
func output(t *testing.T, events [][3]any) string {
	t.Helper()
	var out strings.Builder
	last := 0.0
	for _, e := range events {
		if at := e[0].(float64); at < last {
			t.Fatalf("event at %v after one at %v", at, last)
		} else {
			last = at
		}
		if e[1] == "o" {
			out.WriteString(e[2].(string))
		}
	}
	return out.String()
}

// TestRecorderBurstInOrder writes a burst of output as a relay does, from
// several writers in turn, and finds every byte in the file, in order.
func TestRecorderBurstInOrder(t *testing.T) {
	r, err := newRecorder(t.TempDir(), "c01", "srv", "xterm", 80, 24, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	for i := range 20000 {
		line := fmt.Sprintf("ligne %05d é\r\n", i)
		want.WriteString(line)
		b := []byte(line)
		r.Write(b[:9]) // splits the é every other line
		r.Write(b[9:])
		if i%1000 == 0 {
			r.resize(80+i/1000, 24)
		}
	}
	if err := r.close(); err != nil {
		t.Fatal(err)
	}
	_, events := castEvents(t, r.Path)
	if got := output(t, events); got != want.String() {
		t.Errorf("recorded %d bytes, want %d; first difference at %d", len(got), want.Len(), firstDiff(got, want.String()))
	}
	for _, e := range events {
		if e[1] == "m" {
			t.Errorf("a burst on a working disk lost events: %v", e)
		}
	}
}

func firstDiff(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestRecorderSlowDisk proves a disk that does not take the recording never
// delays the terminal: every write returns while the disk is stuck; once
// it moves again, what was queued is written in order; past maxBacklog the
// events are lost, and the file says where, instead of blocking.
func TestRecorderSlowDisk(t *testing.T) {
	var disk *slowDisk
	defer func(old func(*os.File) io.Writer) { recordDisk = old }(recordDisk)
	recordDisk = func(f *os.File) io.Writer { disk = newSlowDisk(f); return disk }
	r, err := newRecorder(t.TempDir(), "c01", "srv", "xterm", 80, 24, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	<-disk.blocked // the header's write is stuck
	chunk := bytes.Repeat([]byte("x"), 32<<10)
	written := make(chan struct{})
	go func() {
		defer close(written)
		r.Write([]byte("début\r\n"))
		for range 2 * maxBacklog / len(chunk) { // twice what is kept
			r.Write(chunk)
		}
		r.Write([]byte("fin\r\n"))
	}()
	select {
	case <-written:
	case <-time.After(time.Minute):
		t.Fatal("writing to the recording waits for the disk")
	}
	disk.open()
	if err := r.close(); err != nil {
		t.Fatal(err)
	}
	_, events := castEvents(t, r.Path)
	got := output(t, events)
	if !strings.HasPrefix(got, "début\r\n"+string(chunk)) || len(got) > maxBacklog || strings.Contains(got, "fin") {
		t.Errorf("recorded %d bytes: %.40q…", len(got), got)
	}
	if last := events[len(events)-1]; last[1] != "m" || !strings.Contains(last[2].(string), "octets perdus") {
		t.Errorf("no marker where events were lost: last event %.80v", last)
	}
}

// TestSlowDiskDoesNotBlockTerminal types into a terminal through the
// gateway while its recording's disk is stuck: the keystrokes still come
// back; once the disk moves, the recording holds what the machine printed,
// in order.
func TestSlowDiskDoesNotBlockTerminal(t *testing.T) {
	var mu sync.Mutex
	var disks []*slowDisk
	defer func(old func(*os.File) io.Writer) { recordDisk = old }(recordDisk)
	recordDisk = func(f *os.File) io.Writer {
		mu.Lock()
		defer mu.Unlock()
		d := newSlowDisk(f)
		disks = append(disks, d)
		return d
	}
	l := startLab(t)
	allowUncontained(t)
	l.open(t)
	var ready, release sync.WaitGroup
	ready.Add(1)
	cfg := &ssh.ClientConfig{User: "c01+srv", Auth: []ssh.AuthMethod{ssh.Password(l.passwords["c01"])},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 30 * time.Second}
	const strokes = 30
	rtts, _, err := keystrokes(l.sshAddr, cfg, strokes, &ready, &release)
	if err != nil || len(rtts) != strokes {
		t.Fatalf("%d keystrokes came back through a stuck recording: %v", len(rtts), err)
	}
	mu.Lock()
	if len(disks) != 1 {
		t.Fatalf("%d recordings", len(disks))
	}
	select {
	case <-disks[0].blocked:
	default:
		t.Fatal("the recording's disk was never written to")
	}
	disks[0].open()
	mu.Unlock()
	rs, err := results.Open(l.dataDir)
	if err != nil {
		t.Fatal(err)
	}
	var recs []checks.Recording
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) { // indexed once written, when the relay ends
		if recs, err = rs.Recordings("s1", "c01"); err != nil {
			t.Fatal(err)
		}
		if len(recs) == 1 && recs[0].Duration > 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(recs) != 1 || recs[0].Duration == 0 {
		t.Fatalf("c01's recordings: %+v", recs)
	}
	var want strings.Builder
	for i := range strokes {
		want.WriteByte('a' + byte(i%26))
	}
	_, events := castEvents(t, recs[0].File)
	got := output(t, events)
	if i := strings.Index(got, "READY\n"); i < 0 || got[i+len("READY\n"):] != want.String() {
		t.Errorf("recording after the disk moved again: %q", got)
	}
}
