package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/tailab/tailab/checks/report"
	"github.com/tailab/tailab/exam"
	"github.com/tailab/tailab/internal/atomicfile"
	"github.com/tailab/tailab/internal/errclass"
)

// reportOptions are the options of `tailab report`.
type reportOptions struct {
	g         *globalOptions
	Session   string
	Candidate string
	Output    string   // the record's output
	Outputs   []string // -o as given
	Out       string
	At        string
	Grading   int
	Details   []string
	Dialect   string
}

func newReportCommand(g *globalOptions) *cobra.Command {
	o := &reportOptions{g: g}
	c := &cobra.Command{
		Use:   "report --session NAME [--candidate ID] [-o FORMAT[=FILE]]... [--out FILE] [--at TIME | --grading N]",
		Short: "Render a stored grading (session grid, spreadsheet) or a candidate's jury record, probing nothing",
		Long: `Without --candidate, report renders the latest stored grading (or --grading N)
in grade's formats, several at once (-o csv=a.csv -o xlsx=a.xlsx), probing nothing.

With --candidate, report writes the jury's record of one candidate from the latest stored
grading holding them (or, with --at, the latest finished at or before TIME):
the title's CCPs and competences, the machine-graded points, every automatic
check's verdict, the criteria left to the jury with blank fields, signature
boxes, and the SHA-256 digest of the candidate's evidence bundle.

Outputs:
  html    the page, printable on A4 (default; stdout unless --out)
  pdf     the page printed by headless Chromium (--out, default
          SESSION-CANDIDATE.pdf); needs the chromium package (or TAILAB_CHROMIUM)
  digest  the evidence digest, to check a printed record: the same digest
          proves the stored results did not change
  bundle  the canonical JSON the digest is computed on (see docs/dashboard.md)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.Run(cmd) },
	}
	f := c.Flags()
	f.StringVarP(&o.Session, "session", "s", "", "session name (required)")
	f.StringVarP(&o.Candidate, "candidate", "c", "", "candidate ID: their jury record")
	f.StringArrayVarP(&o.Outputs, "output", "o", nil, "the session: table, json, csv, junit, html, xlsx (FORMAT[=FILE], repeatable); a record: html (default), pdf, digest or bundle")
	f.IntVar(&o.Grading, "grading", 0, "the session's N-th stored grading (1 the first; default the latest)")
	f.StringSliceVar(&o.Details, "details", nil, "table: each candidate's competences and checks after the summary (--details=c02: theirs alone)")
	f.Lookup("details").NoOptDefVal = "all"
	f.StringVar(&o.Dialect, "csv-dialect", "excel-fr", "CSV for excel-fr (';', decimal comma, BOM) or rfc4180")
	f.StringVar(&o.Out, "out", "", "write to this file (atomically) instead of stdout")
	f.StringVar(&o.At, "at", "", "use the grading finished at or before this time (RFC 3339, as printed on the record)")
	return c
}

// Run writes the record.
func (o *reportOptions) Run(cmd *cobra.Command) error {
	if o.Session == "" {
		return errclass.Usagef("--session is required")
	}
	if o.Candidate == "" {
		return o.session(cmd)
	}
	if o.Output = "html"; len(o.Outputs) > 0 {
		o.Output = o.Outputs[len(o.Outputs)-1]
	}
	if err := validOutput(o.Output, "html", "pdf", "digest", "bundle"); err != nil {
		return err
	}
	var at time.Time
	if o.At != "" {
		t, err := time.Parse(time.RFC3339Nano, o.At)
		if err != nil {
			return errclass.Usagef("--at: %w (want e.g. 2026-06-12T14:03:07Z)", err)
		}
		at = t
	}
	rec, err := exam.Record(o.g.DataDir, o.Session, o.Candidate, at, o.Output, o.g.Loc)
	if err != nil {
		return err
	}
	if out := o.Out; o.Output == "pdf" {
		if out == "" {
			out = o.Session + "-" + o.Candidate + ".pdf"
		}
		if err := exam.PrintPDF(cmd.Context(), os.Getenv("TAILAB_CHROMIUM"), rec, out); err != nil {
			return err
		}
		if !o.g.Quiet {
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s\n", out)
		}
		return nil
	}
	return writeOut(cmd.OutOrStdout(), o.Out, rec)
}

// session renders a stored grading of the session in the -o formats.
func (o *reportOptions) session(cmd *cobra.Command) error {
	outs, err := reportOutputs(o.g, o.Outputs, o.Out, o.Dialect, o.Details) // table by default
	if err != nil {
		return err
	}
	rep, err := exam.StoredGrading(o.g.DataDir, o.Session, o.Grading)
	if err != nil {
		return err
	}
	return report.WriteAll(outs, cmd.OutOrStdout(), rep)
}

// writeOut writes data to path atomically, or to w when path is empty.
func writeOut(w io.Writer, path string, data []byte) error {
	if path != "" {
		return atomicfile.WriteFile(path, data, atomicfile.DefaultPerm)
	}
	_, err := w.Write(data)
	return err
}
