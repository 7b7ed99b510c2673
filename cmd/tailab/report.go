package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/checks/report"
	"github.com/tailab/tailab/exam"
	"github.com/tailab/tailab/internal/atomicfile"
	"github.com/tailab/tailab/internal/errclass"
	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/results"
)

// reportOptions are the options of `tailab report`.
type reportOptions struct {
	g         *globalOptions
	Session   string
	Candidate string
	Output    string
	Out       string
	At        string
}

func newReportCommand(g *globalOptions) *cobra.Command {
	o := &reportOptions{g: g}
	c := &cobra.Command{
		Use:   "report --session NAME --candidate ID [-o html|pdf|digest|bundle] [--out FILE] [--at TIME]",
		Short: "Write a candidate's jury record (A4 HTML or PDF) from the stored gradings",
		Long: `report writes the jury's record of one candidate from the latest stored
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
	f.StringVar(&o.Candidate, "candidate", "", "candidate ID (required)")
	f.StringVarP(&o.Output, "output", "o", "html", "html, pdf, digest or bundle")
	f.StringVar(&o.Out, "out", "", "write to this file (atomically) instead of stdout")
	f.StringVar(&o.At, "at", "", "use the grading finished at or before this time (RFC 3339, as printed on the record)")
	return c
}

// Run writes the record.
func (o *reportOptions) Run(cmd *cobra.Command) error {
	if o.Session == "" || o.Candidate == "" {
		return errclass.Usagef("--session and --candidate are required")
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
	st, err := provision.OpenState(o.g.DataDir)
	if err != nil {
		return err
	}
	rep, err := latestReport(o.g.DataDir, o.Session, o.Candidate, at)
	if err != nil {
		return err
	}
	if rep.Interventions, err = exam.Interventions(st, o.Session); err != nil {
		return err
	}
	var buf bytes.Buffer
	switch o.Output {
	case "digest":
		d, err := report.EvidenceDigest(rep, o.Candidate)
		if err != nil {
			return err
		}
		fmt.Fprintf(&buf, "%s  %s session=%s candidate=%s grading=%s\n", d, report.EvidenceFormat, o.Session, o.Candidate, report.ReportKey(rep))
	case "bundle":
		b, _, err := report.EvidenceBundle(rep, o.Candidate)
		if err != nil {
			return err
		}
		buf.Write(b)
	default:
		j := &report.Jury{Opts: report.Options{Location: time.Local}, Candidates: []string{o.Candidate}}
		if err := j.Format(&buf, rep); err != nil {
			return err
		}
	}
	if o.Output == "pdf" {
		out := o.Out
		if out == "" {
			out = o.Session + "-" + o.Candidate + ".pdf"
		}
		if err := exam.PrintPDF(cmd.Context(), os.Getenv("TAILAB_CHROMIUM"), buf.Bytes(), out); err != nil {
			return err
		}
		if !o.g.Quiet {
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s\n", out)
		}
		return nil
	}
	return writeOut(cmd.OutOrStdout(), o.Out, buf.Bytes())
}

// latestReport is the latest stored report of the session holding the
// candidate (finished at or before at, when set).
func latestReport(dataDir, session, candidate string, at time.Time) (*checks.Report, error) {
	rs, err := results.Open(dataDir)
	if err != nil {
		return nil, err
	}
	g, err := rs.ForCandidate(session, candidate, at)
	if errors.Is(err, results.ErrNoGrading) {
		return nil, errclass.Wrap(errclass.NotFound, err)
	}
	if err != nil {
		return nil, err
	}
	return g.Report, nil
}

// writeOut writes data to path atomically, or to w when path is empty.
func writeOut(w io.Writer, path string, data []byte) error {
	if path == "" {
		if _, err := w.Write(data); err != nil {
			return err
		}
		return nil
	}
	f, err := atomicfile.Create(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Commit(); err != nil {
		return err
	}
	return nil
}
