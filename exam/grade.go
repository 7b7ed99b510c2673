package exam

import (
	"context"
	"fmt"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/checks/probe/winrm"
	"github.com/tailab/tailab/internal/errclass"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/results"
)

// GradeOptions says what a Grader grades and how.
type GradeOptions struct {
	DataDir     string
	Session     string
	Candidates  []string     // only these (none: everybody)
	Competences []string     // only the checks of these competences and their dependencies
	Concurrency int          // probe runs at once (0: checks.DefaultConcurrency)
	WinRM       *winrm.WinRM // the WinRM client (nil: trust the pins `up` recorded; see WinRMClient)
	// OnCandidate hears of each candidate as soon as they are graded.
	OnCandidate func(checks.CandidateReport)
}

// Validate checks the options (a usage error otherwise).
func (o *GradeOptions) Validate() error {
	if o.Session == "" {
		return errclass.Usagef("no session given")
	}
	if o.Concurrency < 0 {
		return errclass.Usagef("concurrency must be at least 1, not %d", o.Concurrency)
	}
	return nil
}

// Grader grades one session, round after round: what every round shares
// (the session, its lab, its suites, the WinRM client) is read once.
type Grader struct {
	State   *provision.State
	Results *results.Store
	Session *provision.Session
	Lab     *labs.Lab
	Suites  []*checks.Suite
	Opts    GradeOptions
}

// NewGrader opens the data dir and binds the session to its lab's suites.
func NewGrader(o GradeOptions) (*Grader, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	st, sess, err := OpenSession(o.DataDir, o.Session, o.Candidates...)
	if err != nil {
		return nil, err
	}
	rs, err := results.Open(o.DataDir)
	if err != nil {
		return nil, err
	}
	lab, err := sess.LoadLab()
	if err != nil {
		return nil, errclass.Wrap(errclass.BadInput, err)
	}
	suites, err := LoadSuites(BuiltinChecks(lab), Probes())
	if err != nil {
		return nil, err
	}
	if suites, err = FilterCompetences(suites, o.Competences); err != nil {
		return nil, err
	}
	return &Grader{State: st, Results: rs, Session: sess, Lab: lab, Suites: suites, Opts: o}, nil
}

// Round grades the session once and stores the report. The candidates'
// machines are read again every round (addresses may change while a session
// runs). A report comes back with ctx's error when grading was interrupted.
func (g *Grader) Round(ctx context.Context) (*checks.Report, error) {
	cands, labNets, err := Bind(g.State, g.Session, g.Lab, g.Opts.Candidates)
	if err != nil {
		return nil, err
	}
	vantages, err := checks.NewVantages(g.Suites, cands, labNets)
	if err != nil {
		return nil, fmt.Errorf("grade session %s: %w", g.Session.Name, err)
	}
	conc := g.Opts.Concurrency
	if conc == 0 {
		conc = checks.DefaultConcurrency
	}
	runner := &checks.Runner{Registry: GradeProbes(vantages, g.Opts.WinRM), Concurrency: conc, OnCandidate: g.Opts.OnCandidate}
	rep, err := runner.Run(ctx, checks.Session{ID: g.Session.Name, Lab: g.Lab.Name, StartedAt: g.Session.StartedAt}, g.Suites, cands)
	if err != nil && rep == nil {
		return nil, err
	}
	// What was done to the machines shows in every format of the grading.
	ivs, ierr := Interventions(g.State, g.Session.Name)
	if ierr != nil {
		return nil, ierr
	}
	rep.Interventions = ivs
	rep.Decision = DecisionRules(g.Lab, g.Session) // the record proposes decisions under it
	if _, err := g.Results.Save(g.Session.Name, rep); err != nil {
		return nil, err
	}
	_ = g.State.Audit(g.Session.Name, provision.AuditEntry{Action: "grade", Detail: fmt.Sprintf("%d candidates", len(cands))})
	return rep, err
}
