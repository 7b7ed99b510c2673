package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/exam"
	"github.com/tailab/tailab/internal/errclass"
	"github.com/tailab/tailab/internal/yamlx"
)

// validateOptions are the options of `tailab validate FILE...`.
type validateOptions struct {
	g     *globalOptions
	files []string
	reg   *probe.Registry
}

func newValidateCommand(g *globalOptions) *cobra.Command {
	o := &validateOptions{g: g}
	return &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check lab, check-suite, roster and inventory files: every mistake, with file:line:column (exit 4 when one is bad)",
		Long: `validate loads each file strictly and reports every mistake with its
file:line:column. A file is a lab (it has machines:), a check suite (a checks:
list of mappings, or jury:) or a candidate roster (.csv, .tsv or .txt: the
candidates read are listed, and the encoding when it is not UTF-8). A lab's own suites (its checks: list, relative to the
lab file; embedded for a built-in lab, which may be named instead of a file) are
loaded too, with the real probes, and their machines checked against the lab's.

Exit status: 0 every file is valid, 4 some file is not.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Complete(args)
			return o.Run(cmd.OutOrStdout())
		},
	}
}

// Complete records the files and builds the probe registry.
func (o *validateOptions) Complete(args []string) {
	o.files = args
	if o.reg == nil {
		o.reg = exam.Probes()
	}
}

// Run validates every file, prints "FILE: ok (KIND)" for the good ones and returns
// the problems of the others (exit 4).
func (o *validateOptions) Run(out io.Writer) error {
	var (
		all   yamlx.Diagnostics
		other []string
	)
	for _, f := range o.files {
		if exam.IsRosterFile(f) {
			if err := exam.ValidateRoster(out, f); err != nil {
				other = append(other, err.Error())
			}
			continue
		}
		kind, err := exam.ValidateFile(f, o.reg)
		var ds yamlx.Diagnostics
		switch {
		case err == nil:
			fmt.Fprintf(out, "%s: ok (%s)\n", f, kind)
		case errors.As(err, &ds):
			all = exam.AppendNew(all, ds)
		default:
			other = append(other, err.Error())
		}
	}
	if len(all) == 0 && len(other) == 0 {
		return nil
	}
	all.Sort()
	msg := strings.TrimSpace(all.Error() + "\n" + strings.Join(other, "\n"))
	return errclass.BadInputf("invalid file(s):\n%s", msg)
}
