package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/results"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestGradeWatch runs `tailab grade --watch` on a session whose one check (a TCP
// port of the grader's own host) passes, then fails once the port closes: the
// first round prints the report, the next ones a summary, the change one line;
// every round is stored; Ctrl-C ends it with the last round's status.
func TestGradeWatch(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	data := portSession(t, l.Addr().(*net.TCPAddr).Port)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	root := newRootCommand()
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs([]string{"--data-dir", data, "grade", "-s", "s1", "--watch", "50ms"})
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	waitFor := func(s string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(out.String(), s) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q in:\n%s", s, out.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor("tour 2 : 0 changement")
	l.Close()
	waitFor("srv-port réussi → échec (-1 pts)")
	waitFor("tour 5 :")
	cancel()
	err = <-done
	if code := codeOf(err); code != ExitFailed {
		t.Errorf("exit %d (%v), want %d", code, err, ExitFailed)
	}
	got := out.String()
	for _, want := range []string{"srv-port", "tour 1 : première correction ; 1 réussie, 0 échec"} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "réussi → échec"); n != 1 {
		t.Errorf("%d change lines, want 1:\n%s", n, got)
	}
	t.Logf("output:\n%s", got)

	rs, err := results.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	if keys, err := rs.Keys("s1"); err != nil || len(keys) < 5 {
		t.Errorf("stored reports: %d, %v; want one per round", len(keys), err)
	}
}

// portSession is a data dir holding session s1 of one candidate (c01) whose
// one check, srv-port (C2.3), passes while something listens on the grader's
// own port.
func portSession(t *testing.T, port int) string {
	t.Helper()
	dir := t.TempDir()
	labFile := filepath.Join(dir, "lab.yaml")
	labYAML := `name: watch-lab
networks: [{name: lan, cidr: 10.20.0.0/24}]
machines:
  - {name: srv, role: server, kind: container, os: linux, memory: 64MiB, nics: [{network: lan, address: 10.20.0.10}]}
checks: [port.yaml]
`
	suite := fmt.Sprintf(`name: watch
checks:
  - {id: srv-port, title: Le service écoute, competence: C2.3, machine: srv, probe: {type: tcp, port: %d}, expect: {open: true}}
`, port)
	for f, s := range map[string]string{labFile: labYAML, filepath.Join(dir, "port.yaml"): suite} {
		if err := os.WriteFile(f, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data := filepath.Join(dir, "data")
	st, err := provision.OpenState(data)
	if err != nil {
		t.Fatal(err)
	}
	sess := &provision.Session{Name: "s1", Lab: "watch-lab", LabSource: labFile, LabYAML: labYAML, Provider: "libvirt",
		Candidates: []labs.Candidate{{ID: "c01", Index: 1}}}
	if err := st.SaveSession(sess); err != nil {
		t.Fatal(err)
	}
	if err := st.PutMachine(provision.MachineState{Session: "s1", Candidate: "c01", Machine: "srv", MgmtAddress: "127.0.0.1", State: provision.StateReady}); err != nil {
		t.Fatal(err)
	}

	return data
}

// TestGradeOutputsThenReport: one grading renders three outputs (one entry in
// the history); `report` renders it again once the machine is down, probing
// nothing: the same CSV, the same xlsx columns.
func TestGradeOutputsThenReport(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	data := portSession(t, l.Addr().(*net.TCPAddr).Port)
	dir := t.TempDir()
	ctx := context.Background()
	js, cs := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.csv")
	out, stderr, code := runTailab(t, ctx, "--data-dir", data, "grade", "-s", "s1", "-o", "table", "-o", "json="+js, "-o", "csv="+cs)
	if code != 0 || !strings.Contains(out, "c01") || !strings.Contains(out, "100,0 %") {
		t.Fatalf("grade: exit %d %s\n%s", code, stderr, out)
	}
	graded, err := os.ReadFile(cs)
	if err != nil || !bytes.HasPrefix(graded, []byte("\ufeffCandidat;Nom;Prénom;C2.3 (%)")) || !bytes.Contains(graded, []byte(";100,0;")) {
		t.Fatalf("csv (French Excel by default): %q, %v", graded, err)
	}
	if b, err := os.ReadFile(js); err != nil || !bytes.Contains(b, []byte(`"check_id": "srv-port"`)) {
		t.Fatalf("json: %v", err)
	}
	rs, err := results.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	if keys, err := rs.Keys("s1"); err != nil || len(keys) != 1 {
		t.Fatalf("history %v (%v): want one grading for three outputs", keys, err)
	}

	l.Close() // the machine is down: a new probe would fail
	again := filepath.Join(dir, "again.csv")
	if _, stderr, code := runTailab(t, ctx, "--data-dir", data, "report", "-s", "s1", "-o", "csv="+again, "-o", "xlsx="+filepath.Join(dir, "r.xlsx")); code != 0 {
		t.Fatalf("report: exit %d %s", code, stderr)
	}
	if b, _ := os.ReadFile(again); !bytes.Equal(b, graded) {
		t.Errorf("report -o csv differs from grade's:\n%s\nwant\n%s", b, graded)
	}
	if keys, _ := rs.Keys("s1"); len(keys) != 1 {
		t.Errorf("report stored a grading: %v", keys)
	}
	if _, stderr, code := runTailab(t, ctx, "--data-dir", data, "report", "-s", "s1", "--grading", "2"); code != ExitUsage || !strings.Contains(stderr, "no number 2") {
		t.Errorf("--grading 2: exit %d %q", code, stderr)
	}
	if _, stderr, code := runTailab(t, ctx, "--data-dir", data, "grade", "-s", "s1", "-o", "table", "-o", "json"); code != ExitUsage || !strings.Contains(stderr, "only one output") {
		t.Errorf("two outputs on stdout: exit %d %q", code, stderr)
	}
}
