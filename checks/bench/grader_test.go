package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/checks/referential"
)

const (
	// concurrencyEnv, set, replaces the runner's default concurrency.
	concurrencyEnv = "TAILAB_BENCH_CONCURRENCY"
	// profileEnv names a directory where the grading subprocess writes its CPU
	// profile (grader-<candidates>.cpu; go tool pprof reads it with the test binary).
	profileEnv = "TAILAB_BENCH_PROFILE_DIR"
	// sizesEnv lists the numbers of candidates the benchmark grades ("12,48").
	sizesEnv = "TAILAB_BENCH_CANDIDATES"
	// childEnv names the spec file of the subprocess measuring peak RSS.
	childEnv = "TAILAB_BENCH_GRADER_CHILD"
	// fullBaselineEnv=1 runs the baseline on every candidate instead of the sample.
	fullBaselineEnv = "TAILAB_BENCH_FULL_BASELINE"
)

// grader is everything a grading needs, built from a labSpec.
type grader struct {
	spec   labSpec
	cnt    *counters
	runner *checks.Runner
	suite  *checks.Suite
	single []*checks.Suite // one suite per check, for the baseline
	cands  []checks.Candidate
	ref    *referential.Referential
}

func newGrader(spec labSpec, singles bool) (*grader, error) {
	ref, err := referential.Load("tai-2018")
	if err != nil {
		return nil, err
	}
	g := &grader{spec: spec, cnt: &counters{}, ref: ref}
	reg := spec.registry(g.cnt)
	g.suite, g.single, err = loadWorkload(spec.DCIP, reg, ref, singles)
	if err != nil {
		return nil, err
	}
	g.cands = spec.candidates()
	// The runner's default concurrency, what `tailab grade` uses, unless
	// TAILAB_BENCH_CONCURRENCY sets another.
	conc, _ := strconv.Atoi(os.Getenv(concurrencyEnv))
	g.runner = &checks.Runner{Registry: reg, Referential: ref, Concurrency: conc, DefaultTimeout: 20 * time.Second}
	return g, nil
}

// gradeAll runs the batched grading of every candidate.
func (g *grader) gradeAll(ctx context.Context) (*checks.Report, time.Duration, error) {
	start := time.Now()
	rep, err := g.runner.Run(ctx, g.spec.session(), []*checks.Suite{g.suite}, g.cands)
	return rep, time.Since(start), err
}

// failures lists the results that did not pass, with their message.
func failures(rep *checks.Report) (total int, bad []string) {
	for _, c := range rep.Candidates {
		for _, r := range c.Results {
			total++
			if r.Status != checks.StatusPass {
				bad = append(bad, fmt.Sprintf("%s/%s: %s: %s", c.ID, r.CheckID, r.Status, r.Message))
			}
		}
	}
	return total, bad
}

// slowest names the check that took longest: "c03/srv-ssh-12 1.2s".
func slowest(rep *checks.Report) string {
	var name string
	var d time.Duration
	for _, c := range rep.Candidates {
		for _, r := range c.Results {
			if r.Duration > d {
				name, d = c.ID+"/"+r.CheckID, r.Duration
			}
		}
	}
	return fmt.Sprintf("%s %s", name, d.Round(time.Millisecond))
}

func requireAllPass(tb testing.TB, rep *checks.Report, want int) {
	tb.Helper()
	total, bad := failures(rep)
	if len(bad) > 0 {
		if len(bad) > 20 {
			bad = append(bad[:20], fmt.Sprintf("... and %d more", len(bad)-20))
		}
		tb.Fatalf("%d of %d checks did not pass:\n%s", len(bad), total, strings.Join(bad, "\n"))
	}
	if total != want {
		tb.Fatalf("%d results, want %d", total, want)
	}
}

// TestGraderWorkload grades a reduced workload (3 candidates, the full 200
// checks each) once: every check passes, and the runner used one WinRM shell
// and command, one LDAP connection and one SSH connection per machine.
func TestGraderWorkload(t *testing.T) {
	const n = 3
	l := startLab(t, n)
	g, err := newGrader(l.spec, false)
	if err != nil {
		t.Fatal(err)
	}
	rep, wall, err := g.gradeAll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	requireAllPass(t, rep, n*4*checksPerMachine)
	st := l.wsman.Stats()
	if st.Shells != n || st.Commands != n || st.Handshakes != n || st.OpenShells != 0 {
		t.Errorf("wsman: want %d shells, commands and NTLM handshakes (one per pc machine): %+v", n, st)
	}
	if got := g.cnt.ldap.Load(); got != n {
		t.Errorf("%d LDAP connections, want %d (one per dc machine)", got, n)
	}
	if got := strings.Count(l.ssh.Log(), "Accepted publickey"); got != n {
		t.Errorf("%d SSH logins, want %d (one per srv machine)", got, n)
	}
	t.Logf("graded %d checks in %s; wsman %+v", n*4*checksPerMachine, wall.Round(time.Millisecond), st)
}

// BenchmarkGrader measures, in one run, for each size of TAILAB_BENCH_CANDIDATES
// (default 12 and 48 candidates × 4 machines × 50 checks): (a) the batched
// grading, with the CPU each component used (the grader, sshd, samba, dnsmasq,
// all on the same cores) and a per-probe breakdown (each probe's checks graded
// alone); (c) the peak RSS of a subprocess that does (a) alone. (b), the
// baseline, one connection per check run one after the other, is measured once
// on a fixed sample (candidate c01's 200 checks, every kind in the workload's
// proportions) and extrapolated linearly to each size, or run on all the
// largest size's checks with TAILAB_BENCH_FULL_BASELINE=1. Run it with
// -benchtime 1x.
func BenchmarkGrader(b *testing.B) {
	sizes := benchSizes(b)
	l := startLab(b, slices.Max(sizes))
	g, err := newGrader(l.spec, true)
	if err != nil {
		b.Fatal(err)
	}
	probes, err := loadProbeSuites(l.spec.DCIP, g.runner.Registry, g.ref)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	perCand := 4 * checksPerMachine

	// (b) Baseline: each check is its own suite, so its own Probe.Run and its own
	// connection (shell, bind, session), with Concurrency 1.
	sample := g.cands[:1]
	if os.Getenv(fullBaselineEnv) == "1" {
		sample = g.cands
	}
	base := &checks.Runner{Registry: g.runner.Registry, Referential: g.ref, Concurrency: 1, DefaultTimeout: g.runner.DefaultTimeout}
	byProbe := map[string]time.Duration{}
	start := time.Now()
	for _, c := range sample {
		for _, s := range g.single {
			t0 := time.Now()
			rep, err := base.Run(ctx, g.spec.session(), []*checks.Suite{s}, []checks.Candidate{c})
			if err != nil {
				b.Fatal(err)
			}
			byProbe[s.Checks[0].Probe] += time.Since(t0)
			requireAllPass(b, rep, 1)
		}
	}
	baseSample := time.Since(start)
	sampled := len(sample) * perCand
	basePerCheck := baseSample / time.Duration(sampled)
	var parts []string
	for _, p := range probeOrder {
		if d, ok := byProbe[p]; ok {
			parts = append(parts, fmt.Sprintf("%s %s", p, d.Round(time.Millisecond)))
		}
	}
	report("(b) one connection per check, sequential: %s for %d checks (%s): %s per check, extrapolated linearly to each size",
		baseSample.Round(time.Millisecond), sampled, strings.Join(parts, ", "), basePerCheck.Round(time.Microsecond))

	var sums []sizeResult
	for _, n := range sizes {
		b.Run(fmt.Sprintf("candidates=%d", n), func(b *testing.B) {
			r := benchSize(b, l, g, probes, n, basePerCheck)
			sums = append(sums, r)
		})
	}
	var lines []string
	for _, r := range sums {
		lines = append(lines, r.String())
	}
	report("per-check cost by size (wall and CPU of all components per check, grader's peak RSS):\n%s", strings.Join(lines, "\n"))
}

// probeOrder is the order the breakdowns list probes in.
var probeOrder = []string{"ssh", "ldap", "winrm", "dns", "tcp"}

// sizeResult is one size's figures, for the summary across sizes.
type sizeResult struct {
	n, checks int
	wall, cpu time.Duration
	ratio     float64
	rssMiB    float64
}

func (r sizeResult) String() string {
	return fmt.Sprintf("  %2d candidates, %4d checks: %s wall (%s/check), %s CPU (%s/check), %.1f× the baseline, peak RSS %.1f MiB",
		r.n, r.checks, r.wall.Round(time.Millisecond), (r.wall / time.Duration(r.checks)).Round(time.Microsecond),
		r.cpu.Round(10*time.Millisecond), (r.cpu / time.Duration(r.checks)).Round(time.Microsecond), r.ratio, r.rssMiB)
}

// benchSize grades n candidates: (a) all their checks at once, then each
// probe's checks alone (the breakdown), and (c) in a subprocess for its peak RSS.
func benchSize(b *testing.B, l *lab, g *grader, probes map[string]*checks.Suite, n int, basePerCheck time.Duration) sizeResult {
	ctx := context.Background()
	cands := g.cands[:n]
	nChecks := n * 4 * checksPerMachine
	run := func(s *checks.Suite) (*checks.Report, time.Duration, cpuSnapshot) {
		g.cnt.resetLongest()
		cpu0 := takeCPU()
		start := time.Now()
		rep, err := g.runner.Run(ctx, g.spec.session(), []*checks.Suite{s}, cands)
		wall := time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		return rep, wall, takeCPU().since(cpu0)
	}

	loadBefore := loadAvg()
	ws0 := l.wsman.Stats()
	ldap0 := g.cnt.ldap.Load()
	b.ResetTimer()
	var graded time.Duration
	var cpu cpuSnapshot
	var rep *checks.Report
	for i := 0; i < b.N; i++ {
		r, wall, c := run(g.suite)
		rep = r
		graded += wall
		cpu = c
		b.StopTimer()
		requireAllPass(b, rep, nChecks)
		b.StartTimer()
	}
	b.StopTimer()
	perGrading := graded / time.Duration(b.N)
	ws := l.wsman.Stats()
	ldapConns := g.cnt.ldap.Load() - ldap0
	longest := g.cnt.longestString()
	slow := slowest(rep)
	loadAfter := loadAvg()

	// The breakdown: each probe's checks of the n candidates graded alone.
	var breakdown []string
	for _, p := range append(slices.Clone(probeOrder), "ssh-connect") {
		rep, wall, c := run(probes[p])
		requireAllPass(b, rep, n*len(probes[p].Checks))
		breakdown = append(breakdown, fmt.Sprintf("  %-11s %4d checks: %s wall, longest batch %s, slowest check %s; CPU %s (%s)",
			p, n*len(probes[p].Checks), wall.Round(time.Millisecond), g.cnt.longestOf(probes[p].Checks[0].Probe).Round(time.Millisecond),
			slowest(rep), c.total().Round(10*time.Millisecond), c))
	}

	// (c) Peak RSS of a grading process.
	spec := l.spec
	spec.Candidates = n
	child := runChild(b, spec)

	baseline := basePerCheck * time.Duration(nChecks)
	ratio := baseline.Seconds() / perGrading.Seconds()
	b.ReportMetric(perGrading.Seconds(), "s/grading")
	b.ReportMetric(baseline.Seconds(), "s/baseline")
	b.ReportMetric(ratio, "x-faster")
	b.ReportMetric(float64(child.MaxRSSKiB)/1024, "MiB-peak-rss")
	b.ReportMetric(child.Wall.Seconds(), "s/grading-subprocess")
	b.ReportMetric(child.CPU.Seconds(), "cpu-s/grading-subprocess")
	b.ReportMetric(cpu.total().Seconds(), "cpu-s/grading")
	b.ReportMetric(float64(nChecks)/perGrading.Seconds(), "checks/s")
	report(`grader benchmark: %d candidates × 4 machines × %d checks = %d checks, concurrency %d, WinRM latency %s/request
(a) batched grading: %s wall (%.0f checks/s); wsman: %d shells, %d commands, %d requests, %d LDAP connections for %d grading(s); longest batch per probe: %s; slowest check %s
    CPU during (a): %s in all (%s), on %d cores
(b) baseline, extrapolated to %d checks: %s
(b)/(a) = %.1f×
(c) grading subprocess: %s wall, %s CPU (user+sys), peak RSS %.1f MiB (rusage maxrss; VmHWM %.1f MiB), all %d checks passed: %v
load average before (a): %s, after: %s (the machine is shared)
breakdown, each probe's checks graded alone (CPU: this process = grader + WinRM test server; sshd, samba, dnsmasq with their children):
%s`,
		n, checksPerMachine, nChecks, concurrencyOf(g.runner), winrmLatency,
		perGrading.Round(time.Millisecond), float64(nChecks)/perGrading.Seconds(), ws.Shells-ws0.Shells, ws.Commands-ws0.Commands, ws.Requests-ws0.Requests, ldapConns, b.N, longest, slow,
		cpu.total().Round(10*time.Millisecond), cpu, runtime.NumCPU(),
		nChecks, baseline.Round(100*time.Millisecond),
		ratio,
		child.Wall.Round(time.Millisecond), child.CPU.Round(time.Millisecond), float64(child.MaxRSSKiB)/1024, float64(child.VmHWMKiB)/1024, nChecks, child.Passed == nChecks,
		loadBefore, loadAfter, strings.Join(breakdown, "\n"))
	return sizeResult{n: n, checks: nChecks, wall: perGrading, cpu: cpu.total(), ratio: ratio, rssMiB: float64(child.MaxRSSKiB) / 1024}
}

// concurrencyOf is the runner's effective concurrency.
func concurrencyOf(r *checks.Runner) int {
	if r.Concurrency > 0 {
		return r.Concurrency
	}
	return checks.DefaultConcurrency
}

// report prints a part of the benchmark's report on stdout (b.Logf keeps only
// a benchmark's first 10 lines).
func report(format string, args ...any) {
	fmt.Printf(format+"\n", args...)
}

// benchSizes are the numbers of candidates TAILAB_BENCH_CANDIDATES lists
// ("12,48" by default).
func benchSizes(tb testing.TB) []int {
	v := os.Getenv(sizesEnv)
	if v == "" {
		v = "12,48"
	}
	var out []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 99 {
			tb.Fatalf("%s=%q: want numbers of candidates from 1 to 99, separated by commas", sizesEnv, v)
		}
		out = append(out, n)
	}
	return out
}

// childResult is what the grading subprocess reports.
type childResult struct {
	Wall      time.Duration `json:"wall"`
	Passed    int           `json:"passed"`
	Total     int           `json:"total"`
	VmHWMKiB  int64         `json:"vmhwm_kib"` // the child's own /proc/self/status VmHWM
	MaxRSSKiB int64         `json:"-"`         // from wait4's rusage, by the parent
	CPU       time.Duration `json:"-"`         // user + system time of the whole subprocess
}

// runChild runs TestGraderChild in a subprocess of the test binary (same
// network namespace, the services stay in this process and its daemons) and
// returns its wall time and peak resident set size.
func runChild(tb testing.TB, spec labSpec) childResult {
	tb.Helper()
	dir := tb.TempDir()
	specPath := filepath.Join(dir, "spec.json")
	data, err := json.Marshal(spec)
	if err != nil {
		tb.Fatal(err)
	}
	if err := writeFile(specPath, data); err != nil {
		tb.Fatal(err)
	}
	args := []string{"-test.run=^TestGraderChild$", "-test.count=1"}
	if dir := os.Getenv(profileEnv); dir != "" {
		args = append(args, fmt.Sprintf("-test.cpuprofile=%s/grader-%d.cpu", dir, spec.Candidates))
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), childEnv+"="+specPath)
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("grading subprocess: %v\n%s", err, out)
	}
	var res childResult
	raw, err := os.ReadFile(specPath + ".out")
	if err != nil {
		tb.Fatalf("grading subprocess result: %v\n%s", err, out)
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		tb.Fatal(err)
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		res.MaxRSSKiB = ru.Maxrss // kilobytes on Linux
		res.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if res.Passed != res.Total {
		tb.Fatalf("grading subprocess: %d of %d checks passed\n%s", res.Passed, res.Total, out)
	}
	return res
}

// TestGraderChild is the grading subprocess of BenchmarkGrader; it does nothing
// unless TAILAB_BENCH_GRADER_CHILD names a lab spec.
func TestGraderChild(t *testing.T) {
	path := os.Getenv(childEnv)
	if path == "" {
		t.Skip("the grading subprocess of BenchmarkGrader")
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var spec labSpec
	if err := json.Unmarshal(raw, &spec); err != nil {
		t.Fatal(err)
	}
	g, err := newGrader(spec, false)
	if err != nil {
		t.Fatal(err)
	}
	rep, wall, err := g.gradeAll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	total, bad := failures(rep)
	for i, f := range bad {
		if i == 20 {
			t.Errorf("... and %d more", len(bad)-i)
			break
		}
		t.Error(f) // the parent prints this output when a check did not pass
	}
	res := childResult{Wall: wall, Total: total, Passed: total - len(bad), VmHWMKiB: vmHWM()}
	data, _ := json.Marshal(res)
	if err := writeFile(path+".out", data); err != nil {
		t.Fatal(err)
	}
}

// loadAvg is the first three fields of /proc/loadavg.
func loadAvg() string {
	data, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// vmHWM is this process's peak resident set size in KiB (0 if unknown).
func vmHWM() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}
