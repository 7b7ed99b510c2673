package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tailab/tailab/internal/errclass"
	"github.com/tailab/tailab/internal/person"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/templates/sheets"
)

// sheetData is what a candidate sheet template sees.
type sheetData struct {
	Session   string
	Lab       string
	StartedAt string
	Candidate labs.Candidate
	Params    map[string]any
	// Faults are the faults drawn for the candidate (their Description is the
	// symptom as the user reports it).
	Faults []labs.Fault
}

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
	f.StringSliceVar(&o.candidates, "candidate", nil, "only these candidates")
	return c
}

// Run renders the sheets.
func (o *sheetsOptions) Run(cmd *cobra.Command) error {
	st, err := provision.OpenState(o.g.DataDir)
	if err != nil {
		return err
	}
	sess, err := st.Session(o.session)
	if err != nil {
		return errclass.Wrap(errclass.NotFound, err)
	}
	lab, err := sess.LoadLab()
	if err != nil {
		return errclass.Wrap(errclass.BadInput, err)
	}
	if !sheets.Has(lab.Name) {
		return errclass.Usagef("lab %q has no candidate sheet (templates/sheets/%s.md)", lab.Name, lab.Name)
	}
	insts, err := sess.Instances(o.candidates...)
	if err != nil {
		return errclass.Wrap(errclass.NotFound, err)
	}
	if o.out != "" {
		if err := os.MkdirAll(o.out, 0o755); err != nil {
			return err
		}
	}
	for i, in := range insts {
		scen, err := lab.ResolveScenario(labs.ResolveInput{Session: sess.Name, Candidate: in.Candidate})
		if err != nil {
			return errclass.Wrap(errclass.BadInput, err)
		}
		md, err := sheets.Render(lab.Name, sheetData{
			Session: sess.Name, Lab: lab.Name, Candidate: in.Candidate, Params: in.Params, Faults: scen.Drawn,
			StartedAt: sess.StartedAt.In(time.Local).Format("02/01/2006 15:04"),
		})
		if err != nil {
			return errclass.Wrap(errclass.BadInput, err)
		}
		body := md
		if o.output == "html" {
			body = sheets.HTML(fmt.Sprintf("%s — %s", lab.Name, in.Candidate.ID), person.RunningHeader(in.Candidate.FullName(), in.Candidate.ID, sess.Name), md)
		}
		if o.out == "" {
			if i > 0 && o.output == "md" {
				fmt.Fprint(cmd.OutOrStdout(), "\n---\n\n")
			}
			if _, err := cmd.OutOrStdout().Write(body); err != nil {
				return err
			}
			continue
		}
		path := filepath.Join(o.out, in.Candidate.ID+"."+o.output)
		if err := os.WriteFile(path, body, 0o644); err != nil {
			return err
		}
		if !o.g.Quiet {
			fmt.Fprintln(cmd.ErrOrStderr(), strings.TrimSpace(path))
		}
	}
	return nil
}
