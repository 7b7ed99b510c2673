package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/tailab/tailab/checks/report"
	"github.com/tailab/tailab/exam"
	"github.com/tailab/tailab/internal/progress"
	"github.com/tailab/tailab/results"
)

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

// Run carries out the demo and writes its records.
func (o *demoOptions) Run(cmd *cobra.Command) error {
	w := cmd.ErrOrStderr()
	start := time.Now()
	eng, err := o.g.engine("libvirt")
	if err != nil {
		return err
	}
	defer eng.Provider.Close()
	rs, err := results.Open(o.g.DataDir)
	if err != nil {
		return err
	}
	step := func(format string, args ...any) {
		fmt.Fprintf(w, "==> %6.1fs  %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
	}
	d := &exam.DemoOptions{Lab: o.Lab, Session: o.Session, Parallel: o.Parallel, Engine: eng, Results: rs,
		Machines: progress.NewLines(w, true, start), Log: step}
	sess, rep, err := d.Run(cmd.Context())
	if err != nil {
		return err
	}
	formats, err := report.NewRegistry(report.Options{Color: !o.g.NoColor && isTerminal(os.Stdout), Location: o.g.Loc})
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
	recs, err := exam.WriteRecords(out, eng.State, rep, o.g.Loc)
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "\nSession report: %s\nJury records:   %v\n", recs.Session, recs.Jury)
	fmt.Fprintf(cmd.OutOrStdout(), "Dashboard:      tailab serve --session %s   (then open http://%s/)\n", sess.Name, o.Listen)
	fmt.Fprintf(cmd.OutOrStdout(), "Remove it:      tailab down --session %s\n", sess.Name)
	step("done")
	if o.Serve {
		so := &serveOptions{g: o.g, Session: sess.Name, Listen: o.Listen}
		return so.Run(cmd)
	}
	return nil
}
