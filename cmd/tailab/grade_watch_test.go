package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/results"
)

// rep builds a report: per candidate, "suite/check=status:points" items.
func rep(cands map[string][]string, order ...string) *checks.Report {
	r := &checks.Report{}
	for _, id := range order {
		cr := checks.CandidateReport{ID: id}
		for _, item := range cands[id] {
			name, verdict, _ := strings.Cut(item, "=")
			suite, check, _ := strings.Cut(name, "/")
			status, pts, _ := strings.Cut(verdict, ":")
			res := checks.Result{Suite: suite, CheckID: check, Status: checks.Status(status), MaxPoints: 2}
			if pts != "" {
				res.Points = map[string]float64{"0": 0, "1": 1, "2": 2, "0.5": 0.5}[pts]
			}
			cr.Results = append(cr.Results, res)
			cr.Points += res.Points
			cr.MaxPoints += res.MaxPoints
			cr.Counts.Add(res.Status)
		}
		r.Candidates = append(r.Candidates, cr)
	}
	return r
}

func TestDiffReports(t *testing.T) {
	base := map[string][]string{
		"c01": {"s/srv-ssh=pass:1", "s/dns-actif=fail", "s/jury-accueil=jury"},
		"c02": {"s/srv-ssh=pass:1", "s/dns-actif=pass:2", "s/jury-accueil=jury"},
	}
	tests := []struct {
		name string
		prev *checks.Report
		cur  *checks.Report
		want []string
	}{
		{"first round", nil, rep(base, "c01", "c02"), nil},
		{"unchanged lab, same verdicts", rep(base, "c01", "c02"), rep(base, "c01", "c02"), nil},
		{"one check fixed", rep(base, "c01", "c02"), rep(map[string][]string{
			"c01": {"s/srv-ssh=pass:1", "s/dns-actif=pass:2", "s/jury-accueil=jury"},
			"c02": base["c02"],
		}, "c01", "c02"), []string{"12:03:10 c01 dns-actif fail → pass (+2 pts)"}},
		{"broken, lost to an error, in report order", rep(base, "c01", "c02"), rep(map[string][]string{
			"c01": {"s/srv-ssh=error", "s/dns-actif=skip", "s/jury-accueil=jury"},
			"c02": {"s/srv-ssh=pass:1", "s/dns-actif=fail", "s/jury-accueil=jury"},
		}, "c01", "c02"), []string{
			"12:03:10 c01 srv-ssh pass → error (-1 pts)",
			"12:03:10 c01 dns-actif fail → skip",
			"12:03:10 c02 dns-actif pass → fail (-2 pts)",
		}},
		{"partial credit", rep(base, "c01"), rep(map[string][]string{
			"c01": {"s/srv-ssh=pass:0.5", "s/dns-actif=fail", "s/jury-accueil=jury"},
		}, "c01"), []string{"12:03:10 c01 srv-ssh pass → pass (-0.5 pts)"}},
		{"new candidate and check", rep(base, "c01"), rep(map[string][]string{
			"c01": {"s/srv-ssh=pass:1", "s/dns-actif=fail", "s/jury-accueil=jury", "s/partage=pass:1"},
			"c03": {"s/srv-ssh=fail"},
		}, "c01", "c03"), []string{
			"12:03:10 c01 partage (new) → pass (+1 pts)",
			"12:03:10 c03 srv-ssh (new) → fail",
		}},
		{"same id in two suites", rep(map[string][]string{"c01": {"a/ping=pass:1", "b/ping=pass:1"}}, "c01"),
			rep(map[string][]string{"c01": {"a/ping=pass:1", "b/ping=fail"}}, "c01"),
			[]string{"12:03:10 c01 b/ping pass → fail (-1 pts)"}},
	}
	at := time.Date(2026, 6, 3, 12, 3, 10, 0, time.Local)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, c := range diffReports(tt.prev, tt.cur) {
				got = append(got, c.line(at))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestRoundSummary(t *testing.T) {
	at := time.Date(2026, 6, 3, 12, 3, 10, 0, time.Local)
	r := rep(map[string][]string{
		"c01": {"s/a=pass:1", "s/b=fail", "s/c=error", "s/j=jury"},
		"c02": {"s/a=pass:2", "s/b=skip"},
	}, "c01", "c02")
	tests := []struct {
		n, changes int
		want       string
	}{
		{1, 0, "12:03:10 round 1: first grading; 2 passed, 1 failed, 1 errors, 1 skipped; 3/12 pts (2 candidate(s))"},
		{4, 3, "12:03:10 round 4: 3 change(s); 2 passed, 1 failed, 1 errors, 1 skipped; 3/12 pts (2 candidate(s))"},
	}
	for _, tt := range tests {
		if got := roundSummary(at, tt.n, tt.changes, r); got != tt.want {
			t.Errorf("roundSummary = %q\nwant            %q", got, tt.want)
		}
	}
}

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
	waitFor("round 2: 0 change(s)")
	l.Close()
	waitFor("srv-port pass → fail (-1 pts)")
	waitFor("round 5:")
	cancel()
	err = <-done
	if code := codeOf(err); code != ExitFailed {
		t.Errorf("exit %d (%v), want %d", code, err, ExitFailed)
	}
	got := out.String()
	for _, want := range []string{"srv-port", "round 1: first grading; 1 passed, 0 failed"} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "pass → fail"); n != 1 {
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
