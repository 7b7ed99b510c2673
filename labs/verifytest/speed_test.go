package verifytest_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/checks/probe/ssh"
	"github.com/tailab/tailab/exam"
	"github.com/tailab/tailab/internal/testenv"
	"github.com/tailab/tailab/internal/testenv/libvirtd"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/provision/libvirt"
)

// speedLab is the lab of issue 15's grading figure: an untouched candidate
// used to take the sum of its failing checks' timeouts.
const speedLab = "ccp2-infra-local"

// pair is a session of speedLab with two candidates: c01 untouched (its drawn
// faults applied), c02 with the reference solution applied.
type pair struct {
	eng    *provision.Engine
	sess   *provision.Session
	lab    *labs.Lab
	suites []*checks.Suite
	// everyFault: every fault applied to both, every check applies.
	everyFault bool
}

// upPair brings the pair up on the private libvirtd; the test's cleanup takes
// it down.
// With everyFault, both candidates get every fault of the lab (as `tailab
// verify` does: every check applies) and c02 the whole solution.
func upPair(tb testing.TB, labName string, everyFault bool) *pair {
	tb.Helper()
	if !libvirtd.InDaemonNetns() {
		testenv.Unavailable(tb, "needs root and libvirtd (/usr/sbin/libvirtd) for a private daemon")
		return nil
	}
	for _, b := range []string{"samba-tool", "samba", "dnsmasq", "nft", "busybox", "smbclient", "setpriv"} {
		testenv.RequireBinary(tb, b)
	}
	if err := libvirt.CheckRootFS(libvirt.DefaultRootFS()); err != nil {
		testenv.Unavailable(tb, "%v", err)
	}
	ctx := context.Background()
	lab, labYAML, err := exam.OpenLab(labName)
	if err != nil {
		tb.Fatal(err)
	}
	suites, err := exam.LoadSuites(exam.BuiltinChecks(lab), exam.Probes())
	if err != nil {
		tb.Fatal(err)
	}
	eng := privateEngine(tb)
	roster := []labs.Candidate{{ID: "c01", Index: 1}, {ID: "c02", Index: 2}}
	sess, err := eng.NewSession("speed", lab, labYAML, roster, "libvirt")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := eng.Down(context.Background(), sess, nil, quiet{}); err != nil {
			tb.Errorf("down: %v", err)
		}
	})
	plan, err := eng.Plan(ctx, sess, nil)
	if err != nil {
		tb.Fatal(err)
	}
	start := time.Now()
	up := exam.UpOptions{Force: true, NoFaults: everyFault, Apply: provision.ApplyOptions{Parallel: 8}, Machines: quiet{}}
	if err := exam.Up(ctx, eng, sess, plan, up); err != nil {
		tb.Fatal(err)
	}
	ins, err := exam.Instances(eng.State, sess, lab, nil, nil)
	if err != nil {
		tb.Fatal(err)
	}
	for _, in := range ins {
		sc := in.Scenario
		steps := sc.StepsFor(sc.Drawn)
		if everyFault {
			if err := in.ApplyFaults(ctx, sc.Faults); err != nil {
				tb.Fatal(err)
			}
			steps = sc.Solution.Steps
		}
		if in.Candidate.ID != "c02" {
			continue
		}
		if _, err := in.Steps.ApplySteps(ctx, steps); err != nil {
			tb.Fatal(err)
		}
	}
	tb.Logf("%s: c01 untouched, c02 solved, up in %.1fs", labName, time.Since(start).Seconds())
	return &pair{eng: eng, sess: sess, lab: lab, suites: suites, everyFault: everyFault}
}

// grading is one candidate graded once.
type grading struct {
	rep     checks.CandidateReport
	wall    time.Duration
	longest checks.Result // the check of the longest duration
	batches []batch       // the probe runs, as they ended
}

// batch is one Probe.Run of a grading: one machine's checks of one probe.
type batch struct {
	probe, machine string
	wall, longest  time.Duration // the call's, its longest check's
}

// batches collects a grading's probe runs.
type batches struct {
	mu   sync.Mutex
	list []batch
}

// timed is a grader's probe whose runs are timed: what a batch costs
// beyond its longest check (connecting, starting the script) shows.
type timed struct {
	probe.Probe
	b *batches
}

func (t timed) Run(ctx context.Context, tg probe.Target, reqs []probe.Request) ([]probe.Observation, error) {
	start := time.Now()
	obs, err := t.Probe.Run(ctx, tg, reqs)
	bt := batch{probe: t.Type(), machine: tg.Machine, wall: time.Since(start)}
	for _, o := range obs {
		bt.longest = max(bt.longest, o.Duration)
	}
	t.b.mu.Lock()
	t.b.list = append(t.b.list, bt)
	t.b.mu.Unlock()
	return obs, err
}

// slowest describes the grading's slowest batches (at most n).
func (g grading) slowest(n int) string {
	bs := append([]batch(nil), g.batches...)
	sort.SliceStable(bs, func(i, j int) bool { return bs[i].wall > bs[j].wall })
	var parts []string
	for _, b := range bs[:min(n, len(bs))] {
		parts = append(parts, fmt.Sprintf("%s %s %.2fs (longest check %.2fs)", b.probe, b.machine, b.wall.Seconds(), b.longest.Seconds()))
	}
	return strings.Join(parts, ", ")
}

// ratio is the grading's wall over its longest single check.
func (g grading) ratio() float64 { return g.wall.Seconds() / g.longest.Duration.Seconds() }

// grade grades one candidate as `tailab grade` does (exam.Bind, the grader's
// probes, a checks.Runner), its machines' ssh scripts running parallel checks
// at once (1: one after the other, the sequential baseline).
func (p *pair) grade(tb testing.TB, cand string, parallel int) grading {
	tb.Helper()
	cands, labNets, err := exam.Bind(p.eng.State, p.sess, p.lab, []string{cand})
	if err != nil {
		tb.Fatal(err)
	}
	if p.everyFault {
		cands[0].Faults, cands[0].FaultsKnown = exam.EveryFault(p.lab), true
	}
	vantages, err := checks.NewVantages(p.suites, cands, labNets)
	if err != nil {
		tb.Fatal(err)
	}
	reg := exam.GradeProbes(vantages, nil)
	sp, _ := reg.Get(ssh.Type)
	sp.(*ssh.Probe).Parallel = parallel
	b := &batches{}
	timedReg := probe.NewRegistry()
	for _, typ := range reg.Types() {
		p, _ := reg.Get(typ)
		timedReg.Register(timed{Probe: p, b: b})
	}
	runner := &checks.Runner{Registry: timedReg}
	start := time.Now()
	rep, err := runner.Run(context.Background(), checks.Session{ID: p.sess.Name, Lab: p.lab.Name, StartedAt: p.sess.StartedAt}, p.suites, cands)
	wall := time.Since(start)
	if err != nil {
		tb.Fatal(err)
	}
	g := grading{rep: rep.Candidates[0], wall: wall, batches: b.list}
	for _, r := range g.rep.Results {
		if r.Duration > g.longest.Duration {
			g.longest = r
		}
	}
	return g
}

// verdicts are a grading's statuses by check, in report order.
func (g grading) verdicts() string {
	var b strings.Builder
	for _, r := range g.rep.Results {
		fmt.Fprintf(&b, "%s=%s ", r.CheckID, r.Status)
	}
	return b.String()
}

// notPassed lists the checks that did not pass, with why.
func (g grading) notPassed() string {
	var parts []string
	for _, r := range g.rep.Results {
		switch r.Status {
		case checks.StatusPass, checks.StatusJury, checks.StatusNA:
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %s (%.2fs: %s)", r.CheckID, r.Status, r.Duration.Seconds(), r.Message))
	}
	return strings.Join(parts, "; ")
}

// durations lists the checks that took longest (at most n), for the figures.
func (g grading) durations(n int) string {
	rs := append([]checks.Result(nil), g.rep.Results...)
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].Duration > rs[j].Duration })
	var parts []string
	for _, r := range rs[:min(n, len(rs))] {
		if r.Duration > 0 {
			parts = append(parts, fmt.Sprintf("%s %.2fs (%s)", r.CheckID, r.Duration.Seconds(), r.Status))
		}
	}
	return strings.Join(parts, ", ")
}

// figures grades a candidate three times: first (cold: dnsmasq, for one,
// pings an address before its first offer to a client), with the sequential
// script, then again at once (both warm: the comparison that holds while a
// session is re-graded); it returns the figure printed for the candidate and
// the two warm gradings.
func (p *pair) figures(tb testing.TB, cand, name string) (string, grading, grading) {
	first := p.grade(tb, cand, 0)
	seq := p.grade(tb, cand, 1)
	conc := p.grade(tb, cand, 0)
	return fmt.Sprintf("%s: %.0f/%.0f pts; first grading: wall %.2fs, longest check %s %.2fs, ratio %.2f\n"+
		"  then sequential script (parallel 1): wall %.2fs, longest check %s %.2fs\n"+
		"  then at once (parallel %d): wall %.2fs, longest check %s %.2fs, ratio %.2f (%.2fx the sequential wall)\n"+
		"  longest checks of the first grading: %s\n  slowest batches of the first grading: %s\n"+
		"  slowest batches at once, warm: %s\n  ssh handshakes after: %s\n  not passed (first, sequential, warm): %s | %s | %s",
		name, first.rep.Points, first.rep.MaxPoints, first.wall.Seconds(), first.longest.CheckID, first.longest.Duration.Seconds(), first.ratio(),
		seq.wall.Seconds(), seq.longest.CheckID, seq.longest.Duration.Seconds(),
		ssh.DefaultParallel, conc.wall.Seconds(), conc.longest.CheckID, conc.longest.Duration.Seconds(), conc.ratio(), conc.wall.Seconds()/seq.wall.Seconds(),
		first.durations(5), first.slowest(4), conc.slowest(4), p.handshakes(tb, cand),
		first.notPassed(), seq.notPassed(), conc.notPassed()), first, conc
}

// handshakes times an ssh connection (TCP, key exchange, authentication) to
// each of the candidate's machines, the part of an ssh batch before its
// script runs.
func (p *pair) handshakes(tb testing.TB, cand string) string {
	tb.Helper()
	cands, _, err := exam.Bind(p.eng.State, p.sess, p.lab, []string{cand})
	if err != nil {
		tb.Fatal(err)
	}
	var names []string
	for name := range cands[0].Machines {
		names = append(names, name)
	}
	sort.Strings(names)
	var parts []string
	for _, name := range names {
		start := time.Now()
		c, err := ssh.New().Dial(context.Background(), cands[0].Machines[name])
		if err != nil {
			parts = append(parts, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %.2fs", name, time.Since(start).Seconds()))
		c.Close()
	}
	return strings.Join(parts, ", ")
}

// TestConcurrentScriptVerdicts grades an untouched and a solved candidate of
// ccp2-infra-local with the machines' checks at once (the default) and one
// after the other: the verdicts are the same. The solved one passes every
// check, the untouched one fails some, so the comparison means something.
// The figures are logged; they are measured by BenchmarkGradeCCP2.
func TestConcurrentScriptVerdicts(t *testing.T) {
	p := upPair(t, speedLab, false)
	for _, c := range []struct{ id, name string }{{"c01", "untouched"}, {"c02", "solved"}} {
		conc := p.grade(t, c.id, 0)
		seq := p.grade(t, c.id, 1)
		t.Logf("%s: wall %.2fs at once, %.2fs sequential; longest checks: %s", c.name, conc.wall.Seconds(), seq.wall.Seconds(), conc.durations(4))
		if a, b := conc.verdicts(), seq.verdicts(); a != b {
			t.Errorf("%s: concurrent and sequential verdicts differ:\nconcurrent %s\nsequential %s", c.name, a, b)
		}
		n := conc.rep.Counts
		switch {
		case c.id == "c02" && (n.Pass == 0 || n.Fail+n.Error+n.Skip > 0):
			t.Errorf("solved: want every check to pass, got %s", conc.verdicts())
		case c.id == "c01" && (n.Fail == 0 || n.Error > 0):
			t.Errorf("untouched: want failures and no error, got %s", conc.verdicts())
		}
	}
}

// BenchmarkGradeCCP2 is issue 15's figure: an untouched candidate of
// ccp2-infra-local graded within 1.2 times its longest single check, the
// solved one unchanged or faster, each beside the sequential script's wall
// in the same run (docs/benchmarks-grader.md). Run it with -benchtime 1x
// (each iteration grades each candidate three times; the pair comes up
// once). TAILAB_SPEED_LAB names another local lab; TAILAB_SPEED_FAULTS=all
// applies every fault of the lab to both candidates (every check applies).
//
//	go test -run XXX -bench GradeCCP2 -benchtime 1x ./labs/verifytest/
func BenchmarkGradeCCP2(b *testing.B) {
	labName := speedLab
	if l := os.Getenv("TAILAB_SPEED_LAB"); l != "" {
		labName = l // another local lab's figure
	}
	every := os.Getenv("TAILAB_SPEED_FAULTS") == "all"
	p := upPair(b, labName, every)
	load := func() string {
		s, _ := os.ReadFile("/proc/loadavg")
		return strings.Join(strings.Fields(string(s))[:3], " ")
	}
	fmt.Printf("%s (every fault: %v), commit %s\n", labName, every, commit())
	b.ResetTimer()
	for range b.N {
		before := load()
		for _, c := range []struct{ id, name string }{{"c01", "untouched"}, {"c02", "solved"}} {
			fig, first, warm := p.figures(b, c.id, c.name)
			fmt.Println(fig)
			b.ReportMetric(first.wall.Seconds(), c.name+"-first-wall-s")
			b.ReportMetric(first.ratio(), c.name+"-first-ratio")
			b.ReportMetric(warm.wall.Seconds(), c.name+"-wall-s")
		}
		fmt.Printf("load average before: %s, after: %s\n", before, load())
	}
}

// commit is the source's commit, for the figures.
func commit() string {
	out, err := exec.Command("git", "describe", "--always", "--dirty").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}
