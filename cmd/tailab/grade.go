package main

import (
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/checks/probe/winrm"
	"github.com/tailab/tailab/checks/report"
	"github.com/tailab/tailab/exam"
	"github.com/tailab/tailab/internal/errclass"
	"github.com/tailab/tailab/internal/progress"
)

// winrmCAFlag is the --winrm-ca flag's help.
const winrmCAFlag = "PEM bundle of the CA that signed the Windows machines' WinRM certificates (a centre's own PKI): checked instead of the certificate pinned by `up`"

// winrmClient is exam.WinRMClient for the --winrm-ca flag.
func winrmClient(caFile string) (*winrm.WinRM, error) {
	w, err := exam.WinRMClient(caFile)
	if err != nil {
		return nil, fmt.Errorf("--winrm-ca: %w", err)
	}
	return w, nil
}

// gradeOptions are the options of `tailab grade`.
type gradeOptions struct {
	g           *globalOptions
	Session     string
	Candidates  []string
	Competences []string
	Output      []string
	Out         string
	Details     []string
	CSVDialect  string
	Concurrency int
	Watch       time.Duration
	WinRMCA     string

	outputs []report.Output
	grader  *exam.Grader
}

func newGradeCommand(g *globalOptions) *cobra.Command {
	o := &gradeOptions{g: g}
	c := &cobra.Command{
		Use:   "grade --session NAME [--candidate ID]... [--competence C2.3]... [-o FORMAT[=FILE]]... [--out FILE]",
		Short: "Grade a session's labs with the lab's check suites",
		Long: `grade runs the check suites of the session's lab against every candidate's
machines (or only those given), stores the report in the state and prints it.
One grading, several outputs: -o table -o json=r.json -o csv=r.csv (one
history entry). The table lists candidates in roster order (--details: each
one's checks); CSV is for French Excel unless --csv-dialect rfc4180.

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
	f.StringSliceVarP(&o.Candidates, "candidate", "c", nil, "only these candidates (repeat -c, or c01,c02)")
	f.StringSliceVar(&o.Competences, "competence", nil, "only the checks of these competences (and the checks they depend on)")
	f.StringArrayVarP(&o.Output, "output", "o", []string{"table"}, "report format, FORMAT or FORMAT=FILE, repeatable: table, json, csv, junit, html, xlsx")
	f.StringVar(&o.Out, "out", "", "write the (single) report to this file (atomically) instead of stdout")
	f.StringSliceVar(&o.Details, "details", nil, "table: each candidate's competences and the checks to review after the summary (--details=c02,c03: theirs alone)")
	f.Lookup("details").NoOptDefVal = "all"
	f.StringVar(&o.CSVDialect, "csv-dialect", "excel-fr", "CSV for excel-fr (';', decimal comma, BOM) or rfc4180 (',', decimal point)")
	f.IntVar(&o.Concurrency, "concurrency", checks.DefaultConcurrency, "probe runs at once")
	f.DurationVar(&o.Watch, "watch", 0, "re-grade every DURATION until Ctrl-C, storing every report and printing only the verdicts that changed")
	f.StringVar(&o.WinRMCA, "winrm-ca", "", winrmCAFlag)
	return c
}

// Validate checks the flags and binds the session to the grader.
func (o *gradeOptions) Validate() error {
	switch {
	case o.Session == "":
		return errclass.Usagef("--session is required")
	case o.Concurrency < 1:
		return errclass.Usagef("--concurrency must be at least 1, not %d", o.Concurrency)
	case o.Watch < 0:
		return errclass.Usagef("--watch must be positive, not %s", o.Watch)
	}
	w, err := winrmClient(o.WinRMCA)
	if err != nil {
		return err
	}
	if o.outputs, err = reportOutputs(o.g, o.Output, o.Out, o.CSVDialect, o.Details); err != nil {
		return err
	}
	if o.Watch > 0 && report.ToStdout(o.outputs) && o.Output[0] != "table" {
		return errclass.Usagef("--watch prints changes on stdout: with -o %s, write the report to a file (-o %s=FILE)", o.Output[0], o.Output[0])
	}
	o.grader, err = exam.NewGrader(exam.GradeOptions{
		DataDir: o.g.DataDir, Session: o.Session, Candidates: o.Candidates,
		Competences: o.Competences, Concurrency: o.Concurrency, WinRM: w,
	})
	return err
}

// Run grades the session and prints the report (with --watch, again and again).
func (o *gradeOptions) Run(cmd *cobra.Command) error {
	if o.Watch > 0 {
		return o.watch(cmd)
	}
	var bar *progress.Counter
	if !o.g.Quiet {
		total := len(o.grader.Session.Candidates)
		if len(o.Candidates) > 0 {
			total = len(o.Candidates)
		}
		bar = progress.NewCounter(cmd.ErrOrStderr(), o.g.Quiet, o.g.NoColor, total, "candidates graded")
		o.grader.Opts.OnCandidate = func(c checks.CandidateReport) { bar.Step(exam.CandidateLine(c)) }
	}
	rep, err := o.grader.Round(cmd.Context())
	if bar != nil {
		bar.Finish() // before the report reaches the same terminal
	}
	if err != nil && rep == nil {
		return err // a template's diagnostics (per candidate) are bad input, others infrastructure
	}
	if err := report.WriteAll(o.outputs, cmd.OutOrStdout(), rep); err != nil {
		return err
	}
	if err != nil { // cancelled: the report so far was printed
		return err
	}
	return reportCode(rep)
}

// reportCode is the verdict of a report (failed checks, or checks that could
// not be observed) as an error with no message.
func reportCode(rep *checks.Report) error {
	switch rep.ExitCode() {
	case ExitOK:
		return nil
	case ExitFailed:
		return errclass.Silent(errclass.Failed)
	}
	return errclass.Silent(errclass.Infra)
}

// reportOutputs builds the -o outputs of grade and report: colour only on a
// terminal without NO_COLOR, dates in --tz, CSV in the dialect asked.
func reportOutputs(g *globalOptions, specs []string, out, dialect string, details []string) ([]report.Output, error) {
	opts := report.Options{Location: g.Loc, Details: len(details) > 0, DetailsOf: slices.DeleteFunc(details, func(s string) bool { return s == "all" }),
		Color: !g.NoColor && out == "" && isTerminal(os.Stdout)}
	outs, err := report.NewOutputs(opts, dialect, specs, out)
	return outs, errclass.Wrap(errclass.Usage, err)
}

// isTerminal reports whether f is a terminal (/dev/null is not).
func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// watch grades every o.Watch until ctx is done: the first round is printed in
// full, the next ones as the verdicts that changed and a summary line. Every
// report is stored. It returns the exit status of the last complete round.
func (o *gradeOptions) watch(cmd *cobra.Command) error {
	ctx := cmd.Context()
	out := cmd.OutOrStdout()
	var prev *checks.Report
	for n := 1; ; n++ {
		rep, err := o.grader.Round(ctx)
		switch {
		case err != nil && rep == nil:
			return err
		case err != nil && prev != nil: // interrupted: keep the last complete round
			return reportCode(prev)
		case err != nil:
			if perr := report.WriteAll(o.outputs, cmd.OutOrStdout(), rep); perr != nil {
				return perr
			}
			return err
		}
		now := rep.FinishedAt.In(o.g.Loc)
		changes := exam.Diff(prev, rep)
		if prev == nil {
			if err := report.WriteAll(o.outputs, cmd.OutOrStdout(), rep); err != nil {
				return err
			}
		} else {
			// Files are rewritten every round; stdout shows the changes.
			if err := report.WriteAll(report.Files(o.outputs), out, rep); err != nil {
				return err
			}
			for _, c := range changes {
				fmt.Fprintln(out, c.Line(now))
			}
		}
		fmt.Fprintln(out, exam.RoundSummary(now, n, len(changes), rep))
		prev = rep
		if err := (checks.SystemClock{}).Sleep(ctx, o.Watch); err != nil {
			return reportCode(prev)
		}
	}
}
