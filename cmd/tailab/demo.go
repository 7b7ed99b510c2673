package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/tailab/tailab/checks/report"
	"github.com/tailab/tailab/internal/atomicfile"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/scenario"
)

func init() { commands = append(commands, newDemoCommand) }

// demoOptions: tailab demo — the whole story on the embedded default.
type demoOptions struct {
	g        *globalOptions
	Lab      string
	Session  string
	Out      string
	Serve    bool
	Listen   string
	Parallel int
}

// demoRoster is the demo's candidates: the first gets the whole reference
// solution, the second half of it, the third nothing.
var demoRoster = []labs.Candidate{
	{ID: "c01", LastName: "Martin", FirstName: "Léa", Index: 1},
	{ID: "c02", LastName: "Bernard", FirstName: "Hugo", Index: 2},
	{ID: "c03", LastName: "Petit", FirstName: "Chloé", Index: 3},
}

func newDemoCommand(g *globalOptions) *cobra.Command {
	o := &demoOptions{g: g}
	c := &cobra.Command{
		Use:   "demo",
		Short: "The whole story on the built-in lab: up, the solution fully/partly/not applied, grade, report, dashboard",
		Long: `demo brings up a 3-candidate session of a built-in lab (ccp2-infra-local by
default), applies its reference solution fully for the first candidate, half of
it for the second and not at all for the third, grades the session, writes the
session report and each candidate's jury record, and prints how to open the
dashboard (or serves it with --serve). A previous demo session of the same name
is removed first. Remove it afterwards with ` + "`tailab down --session demo`.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.Run(cmd) },
	}
	f := c.Flags()
	f.StringVar(&o.Lab, "lab", "ccp2-infra-local", "built-in lab with a reference solution")
	f.StringVarP(&o.Session, "session", "s", "demo", "session name")
	f.StringVar(&o.Out, "out", "", "directory for the reports (default DATA_DIR/reports)")
	f.BoolVar(&o.Serve, "serve", false, "serve the dashboard when done (until Ctrl-C)")
	f.StringVar(&o.Listen, "listen", "127.0.0.1:8080", "dashboard address with --serve")
	f.IntVar(&o.Parallel, "parallel", 8, "machines created at once")
	return c
}

// Run carries out the demo.
func (o *demoOptions) Run(cmd *cobra.Command) error {
	ctx := cmd.Context()
	w := cmd.ErrOrStderr()
	start := time.Now()
	step := func(format string, args ...any) {
		fmt.Fprintf(w, "==> %6.1fs  %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
	}
	lab, err := labs.LoadBuiltin(o.Lab)
	if err != nil {
		return withCode(ExitUsage, err)
	}
	if lab.Solution == nil || len(lab.Solution.Steps) == 0 {
		return withCode(ExitUsage, fmt.Errorf("lab %s has no reference solution to demonstrate", o.Lab))
	}
	labYAML, err := labs.BuiltinSource(o.Lab)
	if err != nil {
		return withCode(ExitUsage, err)
	}
	eng, err := o.g.engine("libvirt")
	if err != nil {
		return err
	}
	defer eng.Provider.Close()
	quiet := &lineObserver{w: w, quiet: true, start: start}
	if old, err := eng.State.Session(o.Session); err == nil {
		step("removing the previous %s session", o.Session)
		if err := eng.Down(ctx, old, nil, quiet); err != nil {
			return withCode(ExitInfra, err)
		}
	} else if !errors.Is(err, provision.ErrNoSession) {
		return withCode(ExitInfra, err)
	}

	sess, err := eng.NewSession(o.Session, lab, labYAML, demoRoster, "libvirt")
	if err != nil {
		return withCode(ExitUsage, err)
	}
	plan, err := eng.Plan(ctx, sess, nil)
	if err != nil {
		return withCode(ExitInfra, err)
	}
	if err := provision.Admit(plan); err != nil {
		return withCode(ExitInfra, err)
	}
	if err := prepareSambaTemplates(ctx, w, true, sess, nil); err != nil {
		return withCode(ExitInfra, err)
	}
	step("up: lab %s, %d candidates, %s", lab.Name, len(demoRoster), plan.Summary())
	if err := eng.Up(ctx, plan, provision.ApplyOptions{Parallel: o.Parallel, Force: true}, quiet); err != nil {
		return withCode(ExitInfra, err)
	}
	if err := applyDrawnFaults(ctx, w, true, eng.State, sess, nil); err != nil {
		return withCode(ExitInfra, err)
	}
	step("every machine is ready; each candidate's faults are applied")

	cands, _, err := gradeCandidates(eng.State, sess, lab, nil)
	if err != nil {
		return err
	}
	for i, c := range cands {
		sc, err := lab.ResolveScenario(labs.ResolveInput{Session: sess.Name, Candidate: demoRoster[i]})
		if err != nil {
			return withCode(ExitBadFile, err)
		}
		steps := sc.StepsFor(sc.Drawn)
		switch i {
		case 1:
			steps = steps[:len(steps)/2]
		case 2:
			steps = nil
		}
		runner := &scenario.Runner{Machines: c.Machines}
		if _, err := runner.ApplySteps(ctx, steps); err != nil {
			return withCode(ExitInfra, fmt.Errorf("candidate %s: %w", c.ID, err))
		}
		step("%s (%s %s): %d of the reference solution's steps applied", c.ID, demoRoster[i].FirstName, demoRoster[i].LastName, len(steps))
	}

	suites, err := loadLabSuites(builtinChecks(lab), newProbeRegistry())
	if err != nil {
		return err
	}
	gopts := &gradeOptions{g: o.g, Session: sess.Name}
	rep, err := gopts.round(ctx, &gradeSetup{st: eng.State, sess: sess, lab: lab, suites: suites}, nil)
	if err != nil {
		return err
	}
	step("graded")
	formats, err := report.NewRegistry(report.Options{Color: !o.g.NoColor && isTerminal(os.Stdout), Location: time.Local})
	if err != nil {
		return err
	}
	table, _ := formats.Get("table")
	if err := table.Format(cmd.OutOrStdout(), rep); err != nil {
		return err
	}
	out := o.Out
	if out == "" {
		out = filepath.Join(o.g.DataDir, "reports")
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return withCode(ExitInfra, err)
	}
	html, _ := formats.Get("html")
	sessionReport := filepath.Join(out, sess.Name+".html")
	if err := report.WriteFile(sessionReport, html, rep); err != nil {
		return withCode(ExitInfra, err)
	}
	if rep.Interventions, err = interventions(eng.State, sess.Name); err != nil {
		return withCode(ExitInfra, err)
	}
	var records []string
	for _, c := range rep.Candidates {
		jury := &report.Jury{Opts: report.Options{Location: time.Local}, Candidates: []string{c.ID}}
		path := filepath.Join(out, fmt.Sprintf("%s-%s-jury.html", sess.Name, c.ID))
		f, err := atomicfile.Create(path)
		if err != nil {
			return withCode(ExitInfra, err)
		}
		if err := jury.Format(f, rep); err != nil {
			f.Abort()
			return err
		}
		if err := f.Commit(); err != nil {
			return withCode(ExitInfra, err)
		}
		records = append(records, path)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "\nSession report: %s\nJury records:   %v\n", sessionReport, records)
	fmt.Fprintf(cmd.OutOrStdout(), "Dashboard:      tailab serve --session %s   (then open http://%s/)\n", sess.Name, o.Listen)
	fmt.Fprintf(cmd.OutOrStdout(), "Remove it:      tailab down --session %s\n", sess.Name)
	step("done")
	if o.Serve {
		so := &serveOptions{g: o.g, Session: sess.Name, Listen: o.Listen}
		return so.Run(cmd)
	}
	return nil
}
