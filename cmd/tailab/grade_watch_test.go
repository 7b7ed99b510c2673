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
	port := l.Addr().(*net.TCPAddr).Port
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
