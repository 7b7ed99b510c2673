package exam

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/checks/probe/winrm"
	"github.com/tailab/tailab/internal/errclass"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
)

// VerifyObserver hears of a verification's progress: lines to log, then,
// once the instances are up and graded untouched, the counted units of work
// (the steps applied in order, the left-out instances, the final grading).
type VerifyObserver interface {
	Logf(format string, args ...any)
	Warnf(format string, args ...any) // shown even when the rest is not
	Begin(total int)
	Stepf(format string, args ...any) // one unit done; "" logs nothing
}

// VerifyOptions prove a lab's check suites both ways with its reference
// solution (docs/catalog.md, "Both-way verification"): one throwaway
// instance graded untouched then after each step in order, and for each step
// one instance with every other step. With Mutations, also one instance per
// mutation (the solution, then the near miss: exactly its checks fail) and
// one taken untouched through reset, snapshot create and revert.
type VerifyOptions struct {
	Lab       string // a built-in lab's name or a lab file
	Mutations bool   // prove the lab's mutations and the untouched lab's integrity
	Session   string // the throwaway session's name (Complete: verify-HEXTIME)
	Keep      bool   // leave the instances up
	Parallel  int    // machines created at once
	Provider  string // the session's provider name
	// Engine is the state and provider the instances are made with (set
	// after Complete: loading the lab needs no provider).
	Engine   *provision.Engine
	WinRM    *winrm.WinRM       // the grader's and the steps' WinRM client (nil: the pins)
	Observer VerifyObserver     // nil: silent
	Machines provision.Observer // hears of the instances' machines (up, down)

	lab     *labs.Lab
	labYAML []byte
	suites  []*checks.Suite
	cands   []labs.Candidate
}

// Verification is what a verification found.
type Verification struct {
	Lab, Session string
	Faults       string // the faults applied, by name
	Verdict      Verdict
	Notes        []string // steps that failed without a prerequisite (not a surprise)
	// Mutations and Integrity: with VerifyOptions.Mutations only.
	Mutations []MutationVerdict
	Integrity []IntegrityRun
}

// Complete loads the lab and its suites and names the session.
func (o *VerifyOptions) Complete() error {
	lab, labYAML, err := OpenLab(o.Lab)
	if err != nil {
		return err
	}
	if lab.Solution == nil || len(lab.Solution.Steps) == 0 {
		return errclass.Usagef("lab %q has no reference solution (solution: in the lab file)", lab.Name)
	}
	o.labYAML = labYAML
	if o.suites, err = LoadSuites(lab, Probes()); err != nil {
		return err
	}
	o.lab = lab
	// v00 runs the steps in order; v01..vNN each leave one step out; with
	// mutations, m01..mMM each take one, i00 the admin actions.
	o.cands = make([]labs.Candidate, len(lab.Solution.Steps)+1)
	for i := range o.cands {
		o.cands[i] = labs.Candidate{ID: fmt.Sprintf("v%02d", i), Index: i + 1}
	}
	if o.Mutations {
		if len(lab.Mutations) == 0 {
			return errclass.Usagef("lab %q has no mutations (mutations: in the lab file; docs/catalog.md)", lab.Name)
		}
		for k := range lab.Mutations {
			o.cands = append(o.cands, labs.Candidate{ID: fmt.Sprintf("m%02d", k+1), Index: len(o.cands) + 1})
		}
		o.cands = append(o.cands, labs.Candidate{ID: "i00", Index: len(o.cands) + 1})
	}
	if o.Session == "" {
		o.Session = fmt.Sprintf("verify-%x", time.Now().Unix()) // session names: at most 20 characters
	}
	if o.Provider == "" {
		o.Provider = "libvirt"
	}
	if err := errors.Join(ExistingRefuses(o.Provider, lab, "faults"), ExistingRefuses(o.Provider, lab, "solution")); err != nil {
		return err
	}
	if o.Observer == nil {
		o.Observer = silent{}
	}
	if o.Machines == nil {
		o.Machines = silent{}
	}
	return nil
}

// Validate checks the options once completed.
func (o *VerifyOptions) Validate() error {
	if o.Parallel < 1 {
		return errclass.Usagef("--parallel must be positive")
	}
	if o.lab == nil {
		return errors.New("verify: options not completed")
	}
	return nil
}

// verifyRun is one verification under way: its phases share it.
type verifyRun struct {
	*VerifyOptions
	sess   *provision.Session
	ins    []*Instance
	runner *checks.Runner
}

// Run verifies the lab in phases: up, faults and the untouched grading, the
// solution's steps, the left-out gradings, the analysis. The instances are
// removed at the end (unless Keep), also on error or Ctrl-C. A verification
// with surprises comes back with an error classed Failed, one with checks
// that could not be observed with an Infra error.
func (o *VerifyOptions) Run(ctx context.Context) (*Verification, error) {
	r := &verifyRun{VerifyOptions: o}
	teardown, err := r.up(ctx)
	if teardown != nil {
		defer teardown()
	}
	if err != nil {
		return nil, err
	}
	if r.ins, r.runner, err = r.bind(r.first()); err != nil {
		return nil, err
	}
	untouched, err := r.faults(ctx)
	if err != nil {
		return nil, err
	}
	n := len(o.lab.Solution.Steps)
	units := 2*n + 1
	if o.Mutations {
		units += len(o.lab.Mutations) + 1 + 3
	}
	o.Observer.Begin(units)
	v := &Verification{Lab: o.lab.Name, Session: o.Session, Faults: FaultNames(r.ins[0].Scenario.Faults)}
	var (
		wg     sync.WaitGroup
		mutErr error
	)
	if o.Mutations {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mutErr = r.second(ctx, v, untouched)
		}()
	}
	runs, notes, err := r.solve(ctx, untouched)
	wg.Wait()
	if err = errors.Join(err, mutErr); err != nil {
		return nil, err
	}
	v.Verdict, v.Notes = Analyse(runs), notes
	switch {
	case len(v.Verdict.Errors) > 0:
		return v, errors.New("some checks could not be observed")
	case len(v.Verdict.Surprises) > 0:
		return v, errclass.Wrap(errclass.Failed, fmt.Errorf("%d surprise(s)", len(v.Verdict.Surprises)))
	case !v.mutationsExact():
		return v, errclass.Wrap(errclass.Failed, errors.New("a mutation was not caught exactly, or an admin action changed the untouched lab"))
	}
	return v, nil
}

// up brings the instances up (Samba templates first); the teardown it returns
// removes them.
func (r *verifyRun) up(ctx context.Context) (func(), error) {
	eng := r.Engine
	sess, err := eng.NewSession(r.Session, r.lab, r.labYAML, r.cands, r.Provider)
	if err != nil {
		return nil, errclass.Wrap(errclass.Usage, err)
	}
	r.sess = sess
	// Samba AD templates first (one per distinct domain, made once per host).
	if err := PrepareSambaTemplates(ctx, sess, []string{r.cands[0].ID}, r.Observer.Logf); err != nil {
		return nil, err
	}
	plan, err := eng.Plan(ctx, sess, r.first())
	if err != nil {
		return nil, fmt.Errorf("plan session %s: %w", sess.Name, err)
	}
	r.Observer.Logf("session %s: %d instance(s) of %s (%d step(s), %d mutation(s)): %s", sess.Name, len(r.cands), r.lab.Name, len(r.lab.Solution.Steps), r.mutationCount(), plan.Summary())
	teardown := func() {
		if r.Keep {
			r.Observer.Logf("kept: remove with `tailab down --session %s`", sess.Name)
			return
		}
		t := time.Now()
		// A fresh context: Ctrl-C must not leave the instances behind.
		if err := eng.Down(context.WithoutCancel(ctx), sess, nil, r.Machines); err != nil {
			r.Observer.Warnf("verify: teardown: %v (run `tailab down --session %s`)", err, sess.Name)
			return
		}
		r.Observer.Logf("torn down (%.1fs)", time.Since(t).Seconds())
	}
	if err := eng.Up(ctx, plan, provision.ApplyOptions{Parallel: r.Parallel, Force: true}, r.Machines); err != nil {
		return teardown, fmt.Errorf("bring the instances up: %w", err)
	}
	r.Observer.Logf("up")
	return teardown, nil
}

// first are the candidates the both-way verification needs (v00..vNN), up
// first; nil (all) without mutations.
func (r *verifyRun) first() []string {
	if !r.Mutations {
		return nil
	}
	ids := make([]string, len(r.lab.Solution.Steps)+1)
	for i := range ids {
		ids[i] = r.cands[i].ID
	}
	return ids
}

// bind binds instances (only those given, or all) to the grader with a
// runner of their own. Every fault is applied to every instance (see
// faults): every check with a `when` applies, so the analysis sees them all.
func (r *verifyRun) bind(only []string) ([]*Instance, *checks.Runner, error) {
	ins, labNets, err := instances(r.Engine.State, r.sess, r.lab, only, r.WinRM)
	if err != nil {
		return nil, nil, err
	}
	cands := make([]checks.Candidate, len(ins))
	for i, in := range ins {
		in.Candidate.Faults, in.Candidate.FaultsKnown = EveryFault(r.lab), true
		cands[i] = in.Candidate
	}
	vantages, err := checks.NewVantages(r.suites, cands, labNets)
	if err != nil {
		return nil, nil, err
	}
	return ins, &checks.Runner{Registry: GradeProbes(vantages, r.WinRM)}, nil
}

// grade grades instances of the first ones once.
func (r *verifyRun) grade(ctx context.Context, ins ...*Instance) ([]checks.CandidateReport, error) {
	return r.gradeWith(ctx, r.runner, ins...)
}

// gradeWith grades instances once with the runner they were bound with.
func (r *verifyRun) gradeWith(ctx context.Context, runner *checks.Runner, ins ...*Instance) ([]checks.CandidateReport, error) {
	if len(ins) == 0 {
		return nil, nil
	}
	cs := make([]checks.Candidate, len(ins))
	for i, in := range ins {
		cs[i] = in.Candidate
	}
	rep, err := runner.Run(ctx, checks.Session{ID: r.sess.Name, Lab: r.lab.Name, StartedAt: r.sess.StartedAt}, r.suites, cs)
	if err != nil {
		return nil, fmt.Errorf("grade: %w", err)
	}
	return rep.Candidates, nil
}

// faults applies every fault to every instance, then grades v00 untouched.
func (r *verifyRun) faults(ctx context.Context) (checks.CandidateReport, error) {
	if err := forEach(len(r.ins), func(i int) error {
		return r.ins[i].ApplyFaults(ctx, r.ins[i].Scenario.Faults)
	}); err != nil {
		return checks.CandidateReport{}, err
	}
	r.Observer.Logf("faults applied: %s", FaultNames(r.ins[0].Scenario.Faults))
	untouched, err := r.grade(ctx, r.ins[0])
	if err != nil {
		return checks.CandidateReport{}, err
	}
	r.Observer.Logf("untouched graded: %g/%g pts", untouched[0].Points, untouched[0].MaxPoints)
	return untouched[0], nil
}

// solve applies the solution, in parallel: v00 the steps in order, graded
// after each; v01..vNN every step but their own, graded at the end. A step
// may fail when a prerequisite is left out (a group in a missing OU): that
// is noted and the next steps still run.
func (r *verifyRun) solve(ctx context.Context, untouched checks.CandidateReport) (Runs, []string, error) {
	steps := r.lab.Solution.Steps
	n := len(steps)
	runs := Runs{Untouched: untouched, Baseline: r.lab.Solution.Baseline,
		Incremental: make([]checks.CandidateReport, n), LeftOut: make([]checks.CandidateReport, n)}
	for _, s := range steps {
		runs.Steps = append(runs.Steps, s.Name)
	}
	var wg sync.WaitGroup
	var incErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for k, st := range r.ins[0].Scenario.Solution.Steps {
			if _, err := r.ins[0].Steps.ApplyStep(ctx, st); err != nil {
				incErr = err
				return
			}
			g, err := r.grade(ctx, r.ins[0])
			if err != nil {
				incErr = err
				return
			}
			runs.Incremental[k] = g[0]
			r.Observer.Stepf("after %-20s %g/%g pts", st.Name, g[0].Points, g[0].MaxPoints)
		}
	}()
	notes := make([][]string, n)
	leftErr := forEach(n, func(k int) error {
		in := r.ins[k+1]
		for j, st := range in.Scenario.Solution.Steps {
			if j == k {
				continue
			}
			if _, err := in.Steps.ApplyStep(ctx, st); err != nil {
				if ctx.Err() != nil {
					return err
				}
				notes[k] = append(notes[k], fmt.Sprintf("without %s: step %s failed (%s)", steps[k].Name, st.Name, firstLine(err.Error())))
			}
		}
		r.Observer.Stepf("")
		return nil
	})
	wg.Wait()
	if err := errors.Join(incErr, leftErr); err != nil {
		return runs, nil, fmt.Errorf("apply the solution: %w", err)
	}
	left, err := r.grade(ctx, r.ins[1:n+1]...)
	if err != nil {
		return runs, nil, err
	}
	copy(runs.LeftOut, left)
	r.Observer.Stepf("left-out instances graded")
	var all []string
	for _, ns := range notes {
		all = append(all, ns...)
	}
	return runs, all, nil
}

// mutationCount is the number of mutations proven (0 without Mutations).
func (r *verifyRun) mutationCount() int {
	if !r.Mutations {
		return 0
	}
	return len(r.lab.Mutations)
}

// silent observes nothing: the default verification and machine observer.
type silent struct{}

func (silent) Logf(string, ...any)            {}
func (silent) Warnf(string, ...any)           {}
func (silent) Begin(int)                      {}
func (silent) Stepf(string, ...any)           {}
func (silent) Event(provision.Event)          {}
func (silent) Machine(provision.MachineState) {}

// forEach runs f(0..n-1) at once and joins the errors.
func forEach(n int, f func(i int) error) error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f(i)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// firstLine is s up to its first newline, cut at 160 characters.
func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}
