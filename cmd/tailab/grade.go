package main

import (
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
	"github.com/tailab/tailab/internal/store"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
)

// resultsBucket is where grade stores each report (JSON), keyed by the RFC 3339
// (nanoseconds, UTC) time the grading finished.
func resultsBucket(session string) string { return "results/" + session }

// newProbeRegistry returns a registry holding every probe the grader knows.
func newProbeRegistry() *probe.Registry {
	return probe.NewRegistry(
		ssh.New(),
		tcp.New(),
		http.New(),
		dns.New(),
		ping.New(),
		dhcp.New(),
		ldap.New(),
		smb.New(),
		winrm.New(),
	)
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
}

func newGradeCommand(g *globalOptions) *cobra.Command {
	o := &gradeOptions{g: g}
	c := &cobra.Command{
		Use:   "grade --session NAME [--candidate ID]... [--competence C2.3]... [-o FORMAT] [--out FILE]",
		Short: "Grade a session's labs with the lab's check suites",
		Long: `grade runs the check suites of the session's lab against every candidate's
machines (or only those given), stores the report in the state and prints it.

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
	return validOutput(o.Output, "table", "json", "csv", "junit", "html")
}

// Run grades the session and prints the report.
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
	sess, err := st.Session(o.Session)
	if err != nil {
		return withCode(ExitUsage, err)
	}
	lab, err := sess.LoadLab()
	if err != nil {
		return withCode(ExitBadFile, err)
	}
	reg := newProbeRegistry()
	suiteLab := builtinChecks(lab)
	suites, err := loadLabSuites(suiteLab, reg)
	if err != nil {
		return err
	}
	if suites, err = filterCompetences(suites, o.Competences); err != nil {
		return withCode(ExitUsage, err)
	}
	cands, err := gradeCandidates(st, sess, lab, o.Candidates)
	if err != nil {
		return err
	}
	runner := &checks.Runner{Registry: reg, Concurrency: o.Concurrency}
	if !o.g.Quiet {
		runner.OnCandidate = func(c checks.CandidateReport) {
			fmt.Fprintf(cmd.ErrOrStderr(), "%s: %d passed, %d failed, %d errors, %d skipped\n",
				c.ID, c.Counts.Pass, c.Counts.Fail, c.Counts.Error, c.Counts.Skip)
		}
	}
	rep, err := runner.Run(cmd.Context(), checks.Session{ID: sess.Name, Lab: lab.Name, StartedAt: sess.StartedAt}, suites, cands)
	if err != nil && rep == nil {
		return err // exitCode: yamlx.Diagnostics (a template, per candidate) exit 4, others 3
	}
	if err := saveReport(st, sess.Name, rep); err != nil {
		return withCode(ExitInfra, err)
	}
	_ = st.Audit(sess.Name, provision.AuditEntry{Action: "grade", Detail: fmt.Sprintf("%d candidates", len(cands))})
	if o.Out != "" {
		if err := report.WriteFile(o.Out, format, rep); err != nil {
			return withCode(ExitInfra, err)
		}
	} else if err := format.Format(cmd.OutOrStdout(), rep); err != nil {
		return withCode(ExitInfra, err)
	}
	if err != nil { // cancelled: the report so far was printed
		return withCode(ExitInfra, err)
	}
	if code := rep.ExitCode(); code != ExitOK {
		return withCode(code, errors.New(""))
	}
	return nil
}

// isTerminal reports whether f is a character device (a terminal).
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// saveReport stores the report as JSON for later commands (results/<session>).
func saveReport(st *provision.State, session string, rep *checks.Report) error {
	key := rep.FinishedAt.UTC().Format(time.RFC3339Nano)
	if rep.FinishedAt.IsZero() {
		key = time.Now().UTC().Format(time.RFC3339Nano)
	}
	return st.Store().Update(func(tx *store.Tx) error {
		if err := tx.Put(resultsBucket(session), key, rep); err != nil {
			return fmt.Errorf("store report: %w", err)
		}
		return nil
	})
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
// (exit 4).
func loadLabSuites(lab *labs.Lab, reg *probe.Registry) ([]*checks.Suite, error) {
	if len(lab.Checks) == 0 {
		return nil, withCode(ExitUsage, fmt.Errorf("lab %q has no check suites (checks: in the lab file)", lab.Name))
	}
	suites, diags := labSuites(lab, reg, nil)
	if err := diags.Err(); err != nil {
		return nil, err
	}
	return suites, nil
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
// given): parameters, and each machine's management address and credentials.
func gradeCandidates(st *provision.State, sess *provision.Session, lab *labs.Lab, only []string) ([]checks.Candidate, error) {
	insts, err := sess.Instances(only...)
	if err != nil {
		return nil, withCode(ExitUsage, err)
	}
	states, err := st.Machines(sess.Name)
	if err != nil {
		return nil, withCode(ExitInfra, fmt.Errorf("read machines: %w", err))
	}
	addr := map[string]string{}
	for _, m := range states {
		addr[m.Candidate+"/"+m.Machine] = m.MgmtAddress
	}
	var out []checks.Candidate
	for _, in := range insts {
		id := in.Candidate.ID
		secrets, err := st.Secrets(sess.Name, lab, id)
		if err != nil {
			return nil, withCode(ExitInfra, fmt.Errorf("candidate %q: %w", id, err))
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
		for _, m := range in.Machines {
			t := probe.Target{
				Session: sess.Name, Candidate: id, Machine: m.Name,
				Address:     addr[id+"/"+m.Name],
				Credentials: map[string]probe.Credentials{},
				Masker:      masker,
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
	return out, nil
}
