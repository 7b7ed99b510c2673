package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/tailab/tailab/exam"
	"github.com/tailab/tailab/internal/progress"
)

// verifyOptions: tailab verify LAB [--keep].
type verifyOptions struct {
	g *globalOptions
	exam.VerifyOptions
	winrmCA string
}

func newVerifyCommand(g *globalOptions) *cobra.Command {
	o := &verifyOptions{g: g}
	c := &cobra.Command{
		Use:   "verify LAB [--mutations] [--keep]",
		Short: "Prove a lab's check suites both ways with its reference solution",
		Long: `verify brings up throwaway instances of LAB on the configured libvirt and proves
its check suites with the lab's reference solution (solution: in the lab file):

  - one instance is graded untouched (faults applied): every machine-checkable
    point must be lost, except baseline checks;
  - its solution steps are then applied one by one, grading after each: with the
    whole solution every check passes;
  - for each step, a fresh instance gets every other step: the checks that fail
    there are the checks that need the step.

--mutations also proves each mutation (the solution, then a near miss) fails
exactly its checks, and that reset, snapshot create and revert leave an
untouched instance at its untouched score, faults present (docs/catalog.md).

It prints the step → checks mapping and the checks' table, exits 1 on any
surprise (docs/catalog.md defines them), 3 when something could not be
observed, then removes every instance (--keep leaves them for inspection).
Every fault of the lab is applied (groups are not drawn), so every repair step
is proven, and every check conditioned on a fault (when:) applies.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Lab = args[0]
			return o.Run(cmd)
		},
	}
	f := c.Flags()
	f.BoolVar(&o.Mutations, "mutations", false, "also prove the lab's mutations (near misses each failing exactly their checks) and that reset, snapshot create and revert leave the untouched lab at 0 with its faults")
	f.BoolVar(&o.Keep, "keep", false, "leave the instances up (remove them with `tailab down --session NAME`)")
	f.StringVarP(&o.Session, "session", "s", "", "name of the throwaway session (default verify-HEXTIME)")
	f.IntVar(&o.Parallel, "parallel", 8, "machines created at once")
	f.StringVar(&o.Provider, "provider", "libvirt", "provisioning back-end")
	f.StringVar(&o.winrmCA, "winrm-ca", "", winrmCAFlag+" (grading and the steps)")
	return c
}

// Run verifies the lab and prints the verdict.
func (o *verifyOptions) Run(cmd *cobra.Command) error {
	start := time.Now()
	obs := &verifyObserver{g: o.g, cmd: cmd, start: start}
	o.Observer = obs
	o.Machines = progress.NewLines(cmd.ErrOrStderr(), true, start)
	if err := o.Complete(); err != nil {
		return err
	}
	if err := o.Validate(); err != nil {
		return err
	}
	var err error
	if o.WinRM, err = winrmClient(o.winrmCA); err != nil {
		return err
	}
	if o.Engine, err = o.g.engine(o.Provider); err != nil {
		return err
	}
	defer o.Engine.Provider.Close()
	v, err := o.VerifyOptions.Run(cmd.Context())
	obs.finish() // before the table reaches the same terminal
	if v == nil {
		return err
	}
	if perr := v.Print(cmd.OutOrStdout()); perr != nil {
		return perr
	}
	obs.Logf("verified in %.1fs", time.Since(start).Seconds())
	return err
}

// verifyObserver logs a verification's progress on stderr: timed lines, then
// a count of the units of work (a bar on a terminal) with the lines above it.
type verifyObserver struct {
	g        *globalOptions
	cmd      *cobra.Command
	start    time.Time
	progress *progress.Counter
}

func (v *verifyObserver) line(format string, args ...any) string {
	return fmt.Sprintf("%6.1fs  %s", time.Since(v.start).Seconds(), fmt.Sprintf(format, args...))
}

// Logf prints a line (none with --quiet).
func (v *verifyObserver) Logf(format string, args ...any) {
	switch {
	case v.g.Quiet:
	case v.progress != nil:
		v.progress.Print(v.line(format, args...))
	default:
		fmt.Fprintln(v.cmd.ErrOrStderr(), v.line(format, args...))
	}
}

// Warnf prints a line, even with --quiet.
func (v *verifyObserver) Warnf(format string, args ...any) {
	fmt.Fprintf(v.cmd.ErrOrStderr(), "tailab: "+format+"\n", args...)
}

// Begin starts counting units of work.
func (v *verifyObserver) Begin(total int) {
	if !v.g.Quiet {
		v.progress = progress.NewCounter(v.cmd.ErrOrStderr(), v.g.Quiet, v.g.NoColor, total, "verification steps")
	}
}

// Stepf counts one unit of work, with its line.
func (v *verifyObserver) Stepf(format string, args ...any) {
	if v.progress == nil {
		v.Logf(format, args...)
		return
	}
	line := ""
	if format != "" {
		line = v.line(format, args...)
	}
	v.progress.Step(line)
}

func (v *verifyObserver) finish() {
	if v.progress != nil {
		v.progress.Finish()
		v.progress = nil
	}
}
