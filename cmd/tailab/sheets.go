package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tailab/tailab/exam"
	"github.com/tailab/tailab/internal/errclass"
)

type sheetsOptions struct {
	g          *globalOptions
	session    string
	output     string
	out        string
	candidates []string
}

func newSheetsCommand(g *globalOptions) *cobra.Command {
	o := &sheetsOptions{g: g}
	c := &cobra.Command{
		Use:   "sheets --session NAME [-o md|html] [--out DIR] [--candidate ID]...",
		Short: "Write each candidate's exam statement (French) with their own values",
		Long: `sheets renders the exam statement of the session's lab for every candidate, with
the values drawn for them (names, addresses, the incidents of their faults): the
same values the grader checks. With --out DIR, one file per candidate
(DIR/CANDIDATE.md or .html); otherwise every sheet on stdout.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.session == "" {
				return errclass.Usagef("--session is required")
			}
			if err := validOutput(o.output, "md", "html"); err != nil {
				return err
			}
			return o.Run(cmd)
		},
	}
	f := c.Flags()
	f.StringVarP(&o.session, "session", "s", "", "session name (required)")
	f.StringVarP(&o.output, "output", "o", "md", "format: md or html")
	f.StringVar(&o.out, "out", "", "directory to write one file per candidate into")
	f.StringSliceVarP(&o.candidates, "candidate", "c", nil, "only these candidates (repeat -c, or c01,c02)")
	return c
}

// Run renders the sheets.
func (o *sheetsOptions) Run(cmd *cobra.Command) error {
	_, sess, err := exam.OpenSession(o.g.DataDir, o.session)
	if err != nil {
		return err
	}
	all, err := exam.Sheets(sess, o.candidates, o.output == "html", o.g.Loc)
	if err != nil {
		return err
	}
	if o.out != "" {
		if err := os.MkdirAll(o.out, 0o755); err != nil {
			return err
		}
	}
	for i, sh := range all {
		if o.out == "" {
			if i > 0 && o.output == "md" {
				fmt.Fprint(cmd.OutOrStdout(), "\n---\n\n")
			}
			if _, err := cmd.OutOrStdout().Write(sh.Body); err != nil {
				return err
			}
			continue
		}
		path := filepath.Join(o.out, sh.Candidate+"."+o.output)
		if err := os.WriteFile(path, sh.Body, 0o644); err != nil {
			return err
		}
		if !o.g.Quiet {
			fmt.Fprintln(cmd.ErrOrStderr(), strings.TrimSpace(path))
		}
	}
	return nil
}
