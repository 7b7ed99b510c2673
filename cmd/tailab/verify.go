package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/scenario"
)

func init() { commands = append(commands, newVerifyCommand) }

// verifyOptions: tailab verify LAB [--keep].
type verifyOptions struct {
	g        *globalOptions
	lab      string
	session  string
	keep     bool
	parallel int
	provider string
	winrmCA  string
}

func newVerifyCommand(g *globalOptions) *cobra.Command {
	o := &verifyOptions{g: g}
	c := &cobra.Command{
		Use:   "verify LAB [--keep]",
		Short: "Prove a lab's check suites both ways with its reference solution",
		Long: `verify brings up throwaway instances of LAB on the configured libvirt and proves
its check suites with the lab's reference solution (solution: in the lab file):

  - one instance is graded untouched (faults applied): every machine-checkable
    point must be lost, except baseline checks;
  - its solution steps are then applied one by one, grading after each: with the
    whole solution every check passes;
  - for each step, a fresh instance gets every other step: the checks that fail
    there are the checks that need the step.

It prints the step → checks mapping and the checks' table, exits 1 on any
surprise (docs/catalog.md defines them), 3 when something could not be
observed, then removes every instance (--keep leaves them for inspection).
Every fault of the lab is applied (groups are not drawn), so every repair step
is proven, and every check conditioned on a fault (when:) applies.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.lab = args[0]
			if o.parallel < 1 {
				return withCode(ExitUsage, errors.New("--parallel must be positive"))
			}
			if _, err := winrmClient(o.winrmCA); err != nil {
				return err
			}
			return o.Run(cmd)
		},
	}
	f := c.Flags()
	f.BoolVar(&o.keep, "keep", false, "leave the instances up (remove them with `tailab down --session NAME`)")
	f.StringVarP(&o.session, "session", "s", "", "name of the throwaway session (default verify-HEXTIME)")
	f.IntVar(&o.parallel, "parallel", 8, "machines created at once")
	f.StringVar(&o.provider, "provider", "libvirt", "provisioning back-end")
	f.StringVar(&o.winrmCA, "winrm-ca", "", winrmCAFlag+" (grading and the steps)")
	return c
}

// Run verifies the lab.
func (o *verifyOptions) Run(cmd *cobra.Command) error {
	ctx := cmd.Context()
	start := time.Now()
	errw := cmd.ErrOrStderr()
	// progress counts the verification's units of work once the instances are
	// up (set below): the steps applied in order, the left-out instances, the
	// final grading; its bar shows on a terminal, log lines scroll above it.
	var progress *countProgress
	logf := func(format string, args ...any) {
		if o.g.Quiet {
			return
		}
		line := fmt.Sprintf("%6.1fs  %s", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
		if progress != nil {
			progress.Print(line)
			return
		}
		fmt.Fprintln(errw, line)
	}
	tick := func(format string, args ...any) {
		if progress == nil {
			logf(format, args...)
			return
		}
		line := ""
		if format != "" && !o.g.Quiet {
			line = fmt.Sprintf("%6.1fs  %s", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
		}
		progress.Step(line)
	}
	lab, err := labs.Open(o.lab)
	if err != nil {
		return withCode(ExitBadFile, err)
	}
	if lab.Solution == nil || len(lab.Solution.Steps) == 0 {
		return withCode(ExitUsage, fmt.Errorf("lab %q has no reference solution (solution: in the lab file)", lab.Name))
	}
	labYAML, err := labs.BuiltinSource(o.lab)
	if err != nil || lab.File != "catalog:"+o.lab {
		if labYAML, err = os.ReadFile(o.lab); err != nil {
			return withCode(ExitUsage, err)
		}
	}
	suites, err := loadLabSuites(lab, newProbeRegistry())
	if err != nil {
		return err
	}
	steps := lab.Solution.Steps
	n := len(steps)
	// v00 runs the steps in order; v01..vNN each leave one step out.
	cands := make([]labs.Candidate, n+1)
	for i := range cands {
		cands[i] = labs.Candidate{ID: fmt.Sprintf("v%02d", i), Index: i + 1}
	}
	name := o.session
	if name == "" {
		name = fmt.Sprintf("verify-%x", time.Now().Unix()) // session names: at most 20 characters
	}
	// Samba AD templates first (one per distinct domain, made once per host).
	probeInst, err := lab.Resolve(labs.ResolveInput{Session: name, Candidate: cands[0]})
	if err != nil {
		return withCode(ExitBadFile, err)
	}
	for _, spec := range provision.SambaDCSpecs(probeInst) {
		t := time.Now()
		dir, err := provision.EnsureSambaDCTemplate(ctx, spec)
		if err != nil {
			return withCode(ExitInfra, err)
		}
		logf("samba-dc template %s ready (%.1fs)", dir, time.Since(t).Seconds())
	}

	eng, err := o.g.engine(o.provider)
	if err != nil {
		return err
	}
	defer eng.Provider.Close()
	sess, err := eng.NewSession(name, lab, labYAML, cands, o.provider)
	if err != nil {
		return withCode(ExitUsage, err)
	}
	plan, err := eng.Plan(ctx, sess, nil)
	if err != nil {
		return withCode(ExitInfra, err)
	}
	logf("session %s: %d instance(s) of %s (%d step(s)): %s", name, len(cands), lab.Name, n, plan.Summary())
	teardown := func() {
		if o.keep {
			logf("kept: remove with `tailab down --session %s`", name)
			return
		}
		t := time.Now()
		// A fresh context: Ctrl-C must not leave the instances behind.
		if err := eng.Down(context.WithoutCancel(ctx), sess, nil, &lineObserver{w: errw, quiet: true, start: start}); err != nil {
			fmt.Fprintf(errw, "tailab: verify: teardown: %v (run `tailab down --session %s`)\n", err, name)
			return
		}
		logf("torn down (%.1fs)", time.Since(t).Seconds())
	}
	defer teardown()
	err = eng.Up(ctx, plan, provision.ApplyOptions{Parallel: o.parallel, Force: true}, &lineObserver{w: errw, quiet: true, start: start})
	if err != nil {
		return withCode(ExitInfra, err)
	}
	logf("up")

	gcands, labNets, err := gradeCandidates(eng.State, sess, lab, nil)
	if err != nil {
		return err
	}
	// Every fault is applied to every instance (below): every check with a
	// `when` applies, so the analysis sees them all.
	for i := range gcands {
		gcands[i].Faults, gcands[i].FaultsKnown = everyFault(lab), true
	}
	vantages, err := checks.NewVantages(suites, gcands, labNets)
	if err != nil {
		return withCode(ExitInfra, err)
	}
	wclient, err := winrmClient(o.winrmCA)
	if err != nil {
		return err
	}
	runner := &checks.Runner{Registry: newGradeRegistryWinRM(vantages, wclient)}
	grade := func(cs ...checks.Candidate) ([]checks.CandidateReport, error) {
		rep, err := runner.Run(ctx, checks.Session{ID: sess.Name, Lab: lab.Name, StartedAt: sess.StartedAt}, suites, cs)
		if err != nil {
			return nil, withCode(ExitInfra, fmt.Errorf("grade: %w", err))
		}
		return rep.Candidates, nil
	}
	scen := make([]*labs.Scenario, len(cands))
	runners := make([]*scenario.Runner, len(cands))
	for i, c := range gcands {
		in := labs.ResolveInput{Session: sess.Name, Candidate: cands[i]}
		if scen[i], err = lab.ResolveScenario(in); err != nil {
			return withCode(ExitBadFile, err)
		}
		runners[i] = &scenario.Runner{Machines: c.Machines, WinRM: wclient}
	}
	// Every fault on every instance, then the untouched grading of v00.
	if err := forEach(len(cands), func(i int) error {
		_, err := runners[i].ApplyFaults(ctx, scen[i].Faults)
		return err
	}); err != nil {
		return withCode(ExitInfra, fmt.Errorf("apply faults: %w", err))
	}
	logf("faults applied: %s", faultNames(scen[0].Faults))
	untouched, err := grade(gcands[0])
	if err != nil {
		return err
	}
	logf("untouched graded: %g/%g pts", untouched[0].Points, untouched[0].MaxPoints)
	if !o.g.Quiet {
		progress = newCountProgress(errw, o.g, 2*n+1, "verification steps")
		defer progress.Finish()
	}

	runs := verifyRuns{Untouched: untouched[0], Baseline: lab.Solution.Baseline,
		Incremental: make([]checks.CandidateReport, n), LeftOut: make([]checks.CandidateReport, n)}
	for _, s := range steps {
		runs.Steps = append(runs.Steps, s.Name)
	}
	// In parallel: v00 applies the steps in order, graded after each; v01..vNN
	// apply every step but their own.
	var wg sync.WaitGroup
	var incErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for k, st := range scen[0].Solution.Steps {
			if _, err := runners[0].ApplyStep(ctx, st); err != nil {
				incErr = err
				return
			}
			r, err := grade(gcands[0])
			if err != nil {
				incErr = err
				return
			}
			runs.Incremental[k] = r[0]
			tick("after %-20s %g/%g pts", st.Name, r[0].Points, r[0].MaxPoints)
		}
	}()
	// A step may fail when a prerequisite is left out (a group in a missing
	// OU): that is noted and the next steps still run.
	notes := make([][]string, n)
	leftErr := forEach(n, func(k int) error {
		i := k + 1
		for j, st := range scen[i].Solution.Steps {
			if j == k {
				continue
			}
			if _, err := runners[i].ApplyStep(ctx, st); err != nil {
				if ctx.Err() != nil {
					return err
				}
				notes[k] = append(notes[k], fmt.Sprintf("without %s: step %s failed (%s)", steps[k].Name, st.Name, firstLine(err.Error())))
			}
		}
		tick("")
		return nil
	})
	wg.Wait()
	if err := errors.Join(incErr, leftErr); err != nil {
		return withCode(ExitInfra, fmt.Errorf("apply the solution: %w", err))
	}
	left, err := grade(gcands[1:]...)
	if err != nil {
		return err
	}
	copy(runs.LeftOut, left)
	tick("left-out instances graded")
	if progress != nil {
		progress.Finish() // before the table reaches the same terminal
	}

	v := analyse(runs)
	fmt.Fprintf(cmd.OutOrStdout(), "Lab %s, session %s: %d step(s), faults: %s\n\n", lab.Name, name, n, faultNames(scen[0].Faults))
	if err := v.print(cmd.OutOrStdout()); err != nil {
		return withCode(ExitInfra, err)
	}
	for _, ns := range notes {
		for _, note := range ns {
			fmt.Fprintln(cmd.OutOrStdout(), "NOTE", note)
		}
	}
	logf("verified in %.1fs", time.Since(start).Seconds())
	switch {
	case len(v.Errors) > 0:
		return withCode(ExitInfra, errors.New("some checks could not be observed"))
	case len(v.Surprises) > 0:
		return withCode(ExitFailed, fmt.Errorf("%d surprise(s)", len(v.Surprises)))
	}
	return nil
}

// everyFault is the lab's faults as the grader sees them when all are applied.
func everyFault(lab *labs.Lab) []checks.Fault {
	out := make([]checks.Fault, 0, len(lab.Faults))
	for _, f := range lab.Faults {
		out = append(out, checks.Fault{Name: f.Name, Title: f.Title})
	}
	return out
}

func faultNames(fs []labs.Fault) string {
	if len(fs) == 0 {
		return "none"
	}
	var names []string
	for _, f := range fs {
		names = append(names, f.Name)
	}
	return strings.Join(names, ", ")
}

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
