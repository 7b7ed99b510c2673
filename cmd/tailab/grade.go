package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/checks/probe/dhcp"
	"github.com/tailab/tailab/checks/probe/dns"
	"github.com/tailab/tailab/checks/probe/http"
	"github.com/tailab/tailab/checks/probe/ldap"
	"github.com/tailab/tailab/checks/probe/ping"
	"github.com/tailab/tailab/checks/probe/smb"
	"github.com/tailab/tailab/checks/probe/ssh"
	"github.com/tailab/tailab/checks/probe/tcp"
	"github.com/tailab/tailab/checks/probe/winrm"
	"github.com/tailab/tailab/checks/report"
	"github.com/tailab/tailab/internal/secret"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/results"
)

// newProbeRegistry returns a registry holding every probe the grader knows, to
// load suites with (and to grade without resolving `from` machines).
func newProbeRegistry() *probe.Registry { return registryWith(ping.New()) }

// newGradeRegistry is newProbeRegistry for one grading: ping resolves `from`
// machines through v (see vantagePing).
func newGradeRegistry(v *checks.Vantages) *probe.Registry { return newGradeRegistryWinRM(v, nil) }

// newGradeRegistryWinRM is newGradeRegistry with w as the winrm probe (nil:
// winrm.New()).
func newGradeRegistryWinRM(v *checks.Vantages, w *winrm.WinRM) *probe.Registry {
	return registryWithWinRM(&vantagePing{base: ping.New(), v: v}, w)
}

func registryWith(pingProbe probe.Probe) *probe.Registry { return registryWithWinRM(pingProbe, nil) }

func registryWithWinRM(pingProbe probe.Probe, w *winrm.WinRM) *probe.Registry {
	if w == nil {
		w = winrm.New()
	}
	return probe.NewRegistry(
		ssh.New(),
		tcp.New(),
		http.New(),
		dns.New(),
		pingProbe,
		dhcp.New(),
		ldap.New(),
		smb.New(),
		w,
	)
}

// winrmCAFlag is the --winrm-ca flag's help.
const winrmCAFlag = "PEM bundle of the CA that signed the Windows machines' WinRM certificates (a centre's own PKI): checked instead of the certificate pinned by `up`"

// winrmClient is the WinRM client of the grader and of the steps: it trusts
// the certificate each machine presented when `up` found it ready (the
// target's pin), or, with caFile, the certificates that CA signed.
func winrmClient(caFile string) (*winrm.WinRM, error) {
	w := winrm.New()
	if caFile == "" {
		return w, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, withCode(ExitUsage, fmt.Errorf("--winrm-ca: %w", err))
	}
	if !bytes.Contains(pem, []byte("-----BEGIN CERTIFICATE-----")) {
		return nil, withCode(ExitUsage, fmt.Errorf("--winrm-ca %s: no PEM certificate in the file", caFile))
	}
	w.CAFile, w.CACert = caFile, pem
	return w, nil
}

// vantagePing is the ping probe as grade runs it: a `from` machine, the probe's
// (`probe: {type: ping, from: pc1}`) or the check's (`from: pc1`), is that
// candidate's machine, and the ping runs there over its shell probe (ssh), one
// batch per vantage. With the check's `from`, the runner hands the vantage's
// target; the host pinged is then the check's machine at its lab address (the
// management network isolates machines from each other), unless `host` says.
type vantagePing struct {
	base *ping.Probe
	v    *checks.Vantages
}

var _ probe.Probe = (*vantagePing)(nil)

// Type returns "ping".
func (p *vantagePing) Type() string { return p.base.Type() }

// NewParams returns empty ping parameters.
func (p *vantagePing) NewParams() probe.Params { return p.base.NewParams() }

// Run pings for the requests of one target (one candidate's machine).
func (p *vantagePing) Run(ctx context.Context, t probe.Target, reqs []probe.Request) ([]probe.Observation, error) {
	inner := *p.base
	inner.Vantage = func(_ context.Context, from string) (probe.Target, error) {
		return p.v.Target(t.Candidate, from)
	}
	out := make([]probe.Request, len(reqs))
	for i, r := range reqs {
		out[i] = r
		chk := p.v.Check(r.ID)
		prm, ok := r.Params.(*ping.Params)
		if !ok || chk == nil || prm.Method == "tcp" {
			continue
		}
		from := prm.From
		if from == "" {
			from = chk.From
		}
		if from == "" {
			continue // from the grader
		}
		cp := *prm
		cp.From = from
		if cp.Host == "" {
			if addr, ok := p.v.LabAddress(t.Candidate, chk.Machine, cp.From); ok {
				cp.Host = addr
			} else if m, err := p.v.Target(t.Candidate, chk.Machine); err == nil {
				cp.Host = m.Address
			}
		}
		out[i].Params = &cp
	}
	return inner.Run(ctx, t, out)
}

// gradeOptions are the options of `tailab grade`.
type gradeOptions struct {
	g           *globalOptions
	Session     string
	Candidates  []string
	Competences []string
	Output      string
	Out         string
	Concurrency int
	Watch       time.Duration
	WinRMCA     string

	winrm *winrm.WinRM
}

func newGradeCommand(g *globalOptions) *cobra.Command {
	o := &gradeOptions{g: g}
	c := &cobra.Command{
		Use:   "grade --session NAME [--candidate ID]... [--competence C2.3]... [-o FORMAT] [--out FILE]",
		Short: "Grade a session's labs with the lab's check suites",
		Long: `grade runs the check suites of the session's lab against every candidate's
machines (or only those given), stores the report in the state and prints it.

With --watch DURATION, grade runs again every DURATION until Ctrl-C: every
report is stored, the first one printed in full (or written to --out, rewritten
every round), then only the verdicts that changed since the previous round, one
line each, and a one-line summary per round.

Exit status: 0 every check passed, 1 some check failed or was skipped, 3 some
check could not be observed (the grade is incomplete), 4 a suite is invalid.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd)
		},
	}
	f := c.Flags()
	f.StringVarP(&o.Session, "session", "s", "", "session name (required)")
	f.StringSliceVar(&o.Candidates, "candidate", nil, "only these candidates")
	f.StringSliceVar(&o.Competences, "competence", nil, "only the checks of these competences (and the checks they depend on)")
	f.StringVarP(&o.Output, "output", "o", "table", "report format: table, json, csv, junit or html")
	f.StringVar(&o.Out, "out", "", "write the report to this file (atomically) instead of stdout")
	f.IntVar(&o.Concurrency, "concurrency", checks.DefaultConcurrency, "probe runs at once")
	f.DurationVar(&o.Watch, "watch", 0, "re-grade every DURATION until Ctrl-C, storing every report and printing only the verdicts that changed")
	f.StringVar(&o.WinRMCA, "winrm-ca", "", winrmCAFlag)
	return c
}

// Validate checks the flags.
func (o *gradeOptions) Validate() error {
	if o.Session == "" {
		return withCode(ExitUsage, errors.New("--session is required"))
	}
	if o.Concurrency < 1 {
		return withCode(ExitUsage, fmt.Errorf("--concurrency must be at least 1, not %d", o.Concurrency))
	}
	if o.Watch < 0 {
		return withCode(ExitUsage, fmt.Errorf("--watch must be positive, not %s", o.Watch))
	}
	if o.Watch > 0 && o.Output != "table" && o.Out == "" {
		return withCode(ExitUsage, fmt.Errorf("--watch prints changes on stdout: with -o %s, write the report to a file (--out)", o.Output))
	}
	w, err := winrmClient(o.WinRMCA)
	if err != nil {
		return err
	}
	o.winrm = w
	return validOutput(o.Output, "table", "json", "csv", "junit", "html")
}

// gradeSetup is what every grading round of a command shares.
type gradeSetup struct {
	st      *provision.State
	results *results.Store
	sess    *provision.Session
	lab     *labs.Lab
	suites  []*checks.Suite
	format  report.Formatter
}

// Run grades the session and prints the report (with --watch, again and again).
func (o *gradeOptions) Run(cmd *cobra.Command) error {
	formats, err := report.NewRegistry(report.Options{
		Color:    !o.g.NoColor && o.Out == "" && isTerminal(os.Stdout),
		Location: time.Local,
	})
	if err != nil {
		return withCode(ExitUsage, err)
	}
	format, err := formats.Get(o.Output)
	if err != nil {
		return withCode(ExitUsage, err)
	}
	st, err := provision.OpenState(o.g.DataDir)
	if err != nil {
		return withCode(ExitInfra, err)
	}
	rs, err := results.Open(o.g.DataDir)
	if err != nil {
		return withCode(ExitInfra, err)
	}
	sess, err := st.Session(o.Session)
	if err != nil {
		return withCode(ExitUsage, err)
	}
	lab, err := sess.LoadLab()
	if err != nil {
		return withCode(ExitBadFile, err)
	}
	suites, err := loadLabSuites(builtinChecks(lab), newProbeRegistry())
	if err != nil {
		return err
	}
	if suites, err = filterCompetences(suites, o.Competences); err != nil {
		return withCode(ExitUsage, err)
	}
	gs := &gradeSetup{st: st, results: rs, sess: sess, lab: lab, suites: suites, format: format}
	if o.Watch > 0 {
		return o.watch(cmd, gs)
	}
	var onCandidate func(checks.CandidateReport)
	var progress *countProgress
	if !o.g.Quiet {
		total := len(gs.sess.Candidates)
		if len(o.Candidates) > 0 {
			total = len(o.Candidates)
		}
		progress = newCountProgress(cmd.ErrOrStderr(), o.g, total, "candidates graded")
		onCandidate = func(c checks.CandidateReport) {
			line := fmt.Sprintf("%s: %d passed, %d failed, %d errors, %d skipped",
				c.ID, c.Counts.Pass, c.Counts.Fail, c.Counts.Error, c.Counts.Skip)
			if c.Counts.NA > 0 {
				line += fmt.Sprintf(", %d not applicable", c.Counts.NA)
			}
			progress.Step(line)
		}
	}
	rep, err := o.round(cmd.Context(), gs, onCandidate)
	if progress != nil {
		progress.Finish() // before the report reaches the same terminal
	}
	if err != nil && rep == nil {
		return err // exitCode: yamlx.Diagnostics (a template, per candidate) exit 4, others 3
	}
	if err := o.emit(cmd, gs.format, rep); err != nil {
		return err
	}
	if err != nil { // cancelled: the report so far was printed
		return withCode(ExitInfra, err)
	}
	return reportCode(rep)
}

// reportCode is the exit status of a report (0, 1 or 3), with no message.
func reportCode(rep *checks.Report) error {
	if code := rep.ExitCode(); code != ExitOK {
		return withCode(code, errors.New(""))
	}
	return nil
}

// round grades the session once and stores the report. The candidates' machines
// are read again every round (addresses may change while a session runs). A
// report comes back with ctx's error when grading was interrupted.
func (o *gradeOptions) round(ctx context.Context, gs *gradeSetup, onCandidate func(checks.CandidateReport)) (*checks.Report, error) {
	cands, labNets, err := gradeCandidates(gs.st, gs.sess, gs.lab, o.Candidates)
	if err != nil {
		return nil, err
	}
	vantages, err := checks.NewVantages(gs.suites, cands, labNets)
	if err != nil {
		return nil, err
	}
	runner := &checks.Runner{Registry: newGradeRegistryWinRM(vantages, o.winrm), Concurrency: o.Concurrency, OnCandidate: onCandidate}
	rep, err := runner.Run(ctx, checks.Session{ID: gs.sess.Name, Lab: gs.lab.Name, StartedAt: gs.sess.StartedAt}, gs.suites, cands)
	if err != nil && rep == nil {
		return nil, err
	}
	if _, err := gs.results.Save(gs.sess.Name, rep); err != nil {
		return nil, withCode(ExitInfra, err)
	}
	_ = gs.st.Audit(gs.sess.Name, provision.AuditEntry{Action: "grade", Detail: fmt.Sprintf("%d candidates", len(cands))})
	return rep, err
}

// emit writes the report to --out (atomically) or stdout.
func (o *gradeOptions) emit(cmd *cobra.Command, format report.Formatter, rep *checks.Report) error {
	if o.Out != "" {
		if err := report.WriteFile(o.Out, format, rep); err != nil {
			return withCode(ExitInfra, err)
		}
	} else if err := format.Format(cmd.OutOrStdout(), rep); err != nil {
		return withCode(ExitInfra, err)
	}
	return nil
}

// isTerminal reports whether f is a character device (a terminal).
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// builtinChecks returns lab, or, for a built-in lab whose session copy names no
// suites (a session created before the catalog had them), a copy with the current
// catalog's `checks` list.
func builtinChecks(lab *labs.Lab) *labs.Lab {
	name, ok := strings.CutPrefix(lab.Source, "catalog:")
	if !ok || len(lab.Checks) > 0 {
		return lab
	}
	cur, err := labs.LoadBuiltin(name)
	if err != nil || len(cur.Checks) == 0 {
		return lab
	}
	cp := *lab
	cp.Checks = cur.Checks
	return &cp
}

// loadLabSuites loads the lab's check suites (see labSuites) for grading: a lab
// without suites is a usage error, any problem of a suite is yamlx.Diagnostics
// (exit 4), a `when` naming a fault the lab does not declare included.
func loadLabSuites(lab *labs.Lab, reg *probe.Registry) ([]*checks.Suite, error) {
	if len(lab.Checks) == 0 {
		return nil, withCode(ExitUsage, fmt.Errorf("lab %q has no check suites (checks: in the lab file)", lab.Name))
	}
	suites, diags := labSuites(lab, reg, nil)
	faults := make([]string, 0, len(lab.Faults))
	for _, f := range lab.Faults {
		faults = append(faults, f.Name)
	}
	for _, s := range suites {
		if err := s.CheckFaults(faults); err != nil {
			diags = append(diags, diagnosticsOf(s.File, err)...)
		}
	}
	if err := diags.Err(); err != nil {
		return nil, err
	}
	return suites, nil
}

// drawnFaults returns the incidents recorded for a candidate when `up` applied
// their faults (faults/<session> in the state), with the lab's titles; known is
// false when the lab has no faults or none were recorded for the candidate (a
// session brought up before faults were recorded): then every check applies.
func drawnFaults(st *provision.State, session string, lab *labs.Lab, candidate string) (faults []checks.Fault, known bool, err error) {
	if len(lab.Faults) == 0 {
		return nil, false, nil
	}
	rec, ok, err := st.Faults(session, candidate)
	if err != nil || !ok {
		return nil, false, err
	}
	titles := map[string]string{}
	for _, f := range lab.Faults {
		titles[f.Name] = f.Title
	}
	for _, name := range rec.Faults {
		faults = append(faults, checks.Fault{Name: name, Title: titles[name]})
	}
	return faults, true, nil
}

// filterCompetences keeps the checks and jury items of the given competences, plus
// the checks they depend on (transitively); no competences keeps everything.
func filterCompetences(suites []*checks.Suite, competences []string) ([]*checks.Suite, error) {
	if len(competences) == 0 {
		return suites, nil
	}
	want := map[string]bool{}
	for _, c := range competences {
		want[c] = true
	}
	found := map[string]bool{}
	var out []*checks.Suite
	for _, s := range suites {
		byID := map[string]*checks.Check{}
		for _, c := range s.Checks {
			byID[c.ID] = c
		}
		keep := map[string]bool{}
		var add func(id string)
		add = func(id string) {
			if keep[id] {
				return
			}
			keep[id] = true
			if c, ok := byID[id]; ok {
				for _, d := range c.DependsOn {
					add(d)
				}
			}
		}
		for _, c := range s.Checks {
			if want[c.Competence] {
				found[c.Competence] = true
				add(c.ID)
			}
		}
		cp := *s
		cp.Checks, cp.Jury = nil, nil
		for _, c := range s.Checks {
			if keep[c.ID] {
				cp.Checks = append(cp.Checks, c)
			}
		}
		for _, j := range s.Jury {
			if want[j.Competence] {
				found[j.Competence] = true
				cp.Jury = append(cp.Jury, j)
			}
		}
		if len(cp.Checks)+len(cp.Jury) > 0 {
			out = append(out, &cp)
		}
	}
	var missing []string
	for c := range want {
		if !found[c] {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("no check or jury item for competence %s", strings.Join(missing, ", "))
	}
	return out, nil
}

// gradeCandidates builds the grader's view of each candidate (or only those
// given): parameters, each machine's management address and credentials, and
// the faults drawn for them (see drawnFaults).
//
// labNets gives each candidate's machines' lab-network addresses (static ones from
// the lab, else those the provider observed), for probes that observe from a
// lab machine (see checks.Vantages).
func gradeCandidates(st *provision.State, sess *provision.Session, lab *labs.Lab, only []string) (cands []checks.Candidate, labNets map[string]map[string][]checks.NetAddress, err error) {
	insts, err := sess.Instances(only...)
	if err != nil {
		return nil, nil, withCode(ExitUsage, err)
	}
	states, err := st.Machines(sess.Name)
	if err != nil {
		return nil, nil, withCode(ExitInfra, fmt.Errorf("read machines: %w", err))
	}
	addr := map[string]string{}
	pins := map[string]string{}
	observed := map[string]map[string]string{}
	for _, m := range states {
		addr[m.Candidate+"/"+m.Machine] = m.MgmtAddress
		pins[m.Candidate+"/"+m.Machine] = m.TLSPin
		observed[m.Candidate+"/"+m.Machine] = m.Addresses
	}
	labNets = map[string]map[string][]checks.NetAddress{}
	var out []checks.Candidate
	for _, in := range insts {
		id := in.Candidate.ID
		secrets, err := st.Secrets(sess.Name, lab, id)
		if err != nil {
			return nil, nil, withCode(ExitInfra, fmt.Errorf("candidate %q: %w", id, err))
		}
		labNets[id] = map[string][]checks.NetAddress{}
		for _, m := range in.Machines {
			for _, nic := range m.NICs {
				a := nic.Address
				if a == "" || a == "dhcp" {
					a = observed[id+"/"+m.Name][nic.Network]
				}
				if a != "" {
					labNets[id][m.Name] = append(labNets[id][m.Name], checks.NetAddress{Network: nic.Network, Address: a})
				}
			}
		}
		masker := &secret.Masker{}
		for _, v := range secrets {
			if !v.IsZero() {
				masker.Add(v.Reveal())
			}
		}
		c := checks.Candidate{
			ID: id, LastName: in.Candidate.LastName, FirstName: in.Candidate.FirstName,
			Params: in.Params, Machines: map[string]probe.Target{},
		}
		if c.Faults, c.FaultsKnown, err = drawnFaults(st, sess.Name, lab, id); err != nil {
			return nil, nil, withCode(ExitInfra, fmt.Errorf("candidate %q: read faults: %w", id, err))
		}
		for _, m := range in.Machines {
			t := probe.Target{
				Session: sess.Name, Candidate: id, Machine: m.Name,
				Address:     addr[id+"/"+m.Name],
				Credentials: map[string]probe.Credentials{},
				Masker:      masker,
				TLSPin:      pins[id+"/"+m.Name], // the WinRM certificate `up` found (trust on first use)
			}
			for transport, cr := range m.Credentials {
				pc := probe.Credentials{User: cr.User}
				if cr.Password != "" {
					pc.Password = secrets[cr.Password]
				}
				if cr.Key != "" {
					pc.PrivateKey = secrets[cr.Key]
				}
				t.Credentials[transport] = pc
			}
			c.Machines[m.Name] = t
		}
		out = append(out, c)
	}
	return out, labNets, nil
}

// watch grades every o.Watch until ctx is done: the first round is printed in
// full, the next ones as the verdicts that changed and a summary line. Every
// report is stored. It returns the exit status of the last complete round.
func (o *gradeOptions) watch(cmd *cobra.Command, gs *gradeSetup) error {
	ctx := cmd.Context()
	out := cmd.OutOrStdout()
	var prev *checks.Report
	for n := 1; ; n++ {
		rep, err := o.round(ctx, gs, nil)
		switch {
		case err != nil && rep == nil:
			return err
		case err != nil && prev != nil: // interrupted: keep the last complete round
			return reportCode(prev)
		case err != nil:
			if perr := o.emit(cmd, gs.format, rep); perr != nil {
				return perr
			}
			return withCode(ExitInfra, err)
		}
		now := rep.FinishedAt.Local()
		changes := diffReports(prev, rep)
		if prev == nil {
			if err := o.emit(cmd, gs.format, rep); err != nil {
				return err
			}
		} else {
			if o.Out != "" {
				if err := o.emit(cmd, gs.format, rep); err != nil {
					return err
				}
			}
			for _, c := range changes {
				fmt.Fprintln(out, c.line(now))
			}
		}
		fmt.Fprintln(out, roundSummary(now, n, len(changes), rep))
		prev = rep
		if err := (checks.SystemClock{}).Sleep(ctx, o.Watch); err != nil {
			return reportCode(prev)
		}
	}
}

// verdictChange is one check of one candidate whose verdict changed between two
// gradings.
type verdictChange struct {
	Candidate string
	Check     string // check id, suite-qualified when two suites share it
	From, To  checks.Status
	Delta     float64 // points gained (negative: lost)
}

// line renders "15:04:05 c01 dns-actif fail → pass (+2 pts)".
func (c verdictChange) line(at time.Time) string {
	from := string(c.From)
	if from == "" {
		from = "(new)"
	}
	s := fmt.Sprintf("%s %s %s %s → %s", at.Format("15:04:05"), c.Candidate, c.Check, from, c.To)
	if c.Delta != 0 {
		s += fmt.Sprintf(" (%+g pts)", c.Delta)
	}
	return s
}

// diffReports lists, in cur's order, the results of cur whose status or points
// differ from prev's (matched by candidate, suite and check id); a nil prev has
// no changes (the first round is printed in full).
func diffReports(prev, cur *checks.Report) []verdictChange {
	if prev == nil || cur == nil {
		return nil
	}
	type key struct{ cand, suite, check string }
	before := map[key]checks.Result{}
	for _, c := range prev.Candidates {
		for _, r := range c.Results {
			before[key{c.ID, r.Suite, r.CheckID}] = r
		}
	}
	shared := map[string]int{} // check ids defined by several suites
	for _, c := range cur.Candidates {
		suites := map[string]map[string]bool{}
		for _, r := range c.Results {
			if suites[r.CheckID] == nil {
				suites[r.CheckID] = map[string]bool{}
			}
			suites[r.CheckID][r.Suite] = true
			shared[r.CheckID] = max(shared[r.CheckID], len(suites[r.CheckID]))
		}
	}
	var out []verdictChange
	for _, c := range cur.Candidates {
		for _, r := range c.Results {
			old, seen := before[key{c.ID, r.Suite, r.CheckID}]
			if seen && old.Status == r.Status && old.Points == r.Points {
				continue
			}
			id := r.CheckID
			if shared[id] > 1 {
				id = r.Suite + "/" + id
			}
			ch := verdictChange{Candidate: c.ID, Check: id, To: r.Status, Delta: r.Points - old.Points}
			if seen {
				ch.From = old.Status
			}
			out = append(out, ch)
		}
	}
	return out
}

// roundSummary is the line that ends a watch round.
func roundSummary(at time.Time, n, changes int, rep *checks.Report) string {
	t := rep.Totals()
	var pts, maxPts float64
	for _, c := range rep.Candidates {
		pts += c.Points
		maxPts += c.MaxPoints
	}
	what := fmt.Sprintf("%d change(s)", changes)
	if n == 1 {
		what = "first grading"
	}
	return fmt.Sprintf("%s round %d: %s; %d passed, %d failed, %d errors, %d skipped; %g/%g pts (%d candidate(s))",
		at.Format("15:04:05"), n, what, t.Pass, t.Fail, t.Error, t.Skip, pts, maxPts, len(rep.Candidates))
}
