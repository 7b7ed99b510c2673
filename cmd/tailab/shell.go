package main

import (
	"cmp"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tailab/tailab/exam"
	"github.com/tailab/tailab/internal/errclass"
)

func newSSHCommand(g *globalOptions) *cobra.Command {
	o := exam.ShellOptions{}
	c := &cobra.Command{
		Use:   "ssh --session S --candidate C --machine M [-- COMMAND...]",
		Short: "Open a shell (or run a command) on a candidate's machine as the admin, over the management path (audited)",
		Long:  "With the machine's own credentials (the session's key) and its pinned host key; exits with the remote command's status. See docs/access.md.",
		RunE: func(cmd *cobra.Command, args []string) error {
			o.DataDir, o.Command, o.Stdin, o.Stdout, o.Stderr = g.DataDir, strings.Join(args, " "), cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr()
			code, err := exam.Shell(cmd.Context(), o)
			if err == nil && code != 0 {
				err = errclass.ExitStatus(code)
			}
			return err
		},
	}
	f := c.Flags()
	f.StringVarP(&o.Session, "session", "s", "", "session name (required)")
	f.StringVarP(&o.Candidate, "candidate", "c", "", "candidate id (required)")
	f.StringVarP(&o.Machine, "machine", "m", "", "machine name (required)")
	return c
}

func newExecCommand(g *globalOptions) *cobra.Command {
	o, out := exam.ExecOptions{}, ""
	c := &cobra.Command{
		Use:   "exec --session S [--candidate C ...|--candidate all] --machine M [-o text|json] -- COMMAND...",
		Short: "Run a command on a machine of every candidate (or those given) in parallel, as the admin (audited)",
		Long:  "Output grouped per candidate in roster order, each one's exit code, a summary; exits 1 if a command exited non-zero, 3 if a machine could not be reached.",
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := validOutput(out, "text", "json"); err != nil {
				return err
			}
			o.DataDir, o.Command = g.DataDir, strings.Join(args, " ")
			rs, err := exam.Exec(cmd.Context(), o)
			if rs != nil {
				err = cmp.Or(exam.PrintExec(cmd.OutOrStdout(), rs, out), err, exam.ExecVerdict(rs))
			}
			return err
		},
	}
	f := c.Flags()
	f.StringVarP(&o.Session, "session", "s", "", "session name (required)")
	f.StringSliceVarP(&o.Candidates, "candidate", "c", nil, "candidate id (repeat; default or \"all\": every candidate)")
	f.StringVarP(&o.Machine, "machine", "m", "", "machine name (required)")
	f.IntVar(&o.Parallel, "parallel", 8, "how many machines run the command at once")
	f.StringVarP(&out, "output", "o", "text", "output: text or json")
	return c
}
