package main

import (
	"cmp"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/tailab/tailab/exam"
	"github.com/tailab/tailab/gateway"
	"github.com/tailab/tailab/internal/progress"
	"github.com/tailab/tailab/provision"
)

func newResetCommand(g *globalOptions) *cobra.Command {
	t, ask := &machineTarget{}, &confirmFlags{}
	var noWait bool
	c := &cobra.Command{
		Use:   "reset --session S --candidate C... [--machine M]",
		Short: "Bring a candidate's machines back to the state they had when the lab came up",
		Long: `reset rescues a candidate mid-exam: each machine (all of the candidate's, or
--machine M) goes back to the state ` + "`up`" + ` made it in, then runs and is awaited
until ready. VMs get fresh thin-clone overlays of their base image (their
snapshots go with the old overlays); containers get their private dir generated
anew (SSH host key kept; their snapshots stay). Console passwords and addresses
do not change (a VM's console port may). Written to the session's audit log.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return t.run(g, func(eng *provision.Engine, sess *provision.Session) error {
				if err := ask.confirm(cmd, g, exam.Rescue{Action: "reset", Session: sess, Candidates: t.candidates, Machine: t.machine}); err != nil {
					return err
				}
				return exam.EachCandidate(t.candidates, func(c string) error {
					start := time.Now()
					obs := progress.NewLines(cmd.ErrOrStderr(), g.Quiet, start)
					if _, err := exam.Guard(cmd.Context(), eng.State, sess, c, t.machine, "reset", g.logf(cmd), func() error {
						return eng.Reset(cmd.Context(), sess, c, t.machine, provision.ApplyOptions{NoWait: noWait}, obs)
					}); err != nil {
						return err
					}
					if !g.Quiet {
						fmt.Fprintf(cmd.ErrOrStderr(), "%s: reset in %.1fs\n", c, time.Since(start).Seconds())
					}
					return nil
				})
			})
		},
	}
	t.flags(c)
	ask.flags(c)
	c.Flags().BoolVar(&noWait, "no-wait", false, "do not wait for the machines to be ready")
	return c
}

// confirmFlags: --yes, --force of the commands that lose work (exam.Rescue).
type confirmFlags struct{ yes, force bool }

func (a *confirmFlags) flags(c *cobra.Command) {
	c.Flags().BoolVarP(&a.yes, "yes", "y", false, "do not ask for confirmation (needed without a terminal)")
	c.Flags().BoolVar(&a.force, "force", false, "act even while the exam window is open")
}

func (a *confirmFlags) confirm(cmd *cobra.Command, g *globalOptions, r exam.Rescue) (err error) {
	if r.WindowOpen, r.Window, err = gateway.OpenNow(g.DataDir, r.Session.Name); err != nil {
		return err
	}
	r.Yes, r.Force, r.Terminal = a.yes, a.force, isTerminal(os.Stdin)
	return r.Confirm(cmd.InOrStdin(), cmd.ErrOrStderr())
}

func newAuditCommand(g *globalOptions) *cobra.Command {
	var session, output string
	c := &cobra.Command{
		Use:   "audit --session S [-o table|json]",
		Short: "Show a session's audit log: who did what, when (up, down, snapshot, revert, reset, access)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := validOutput(output, "table", "json"); err != nil {
				return err
			}
			log, err := exam.AuditLog(g.DataDir, session)
			if err != nil {
				return err
			}
			return renderAudit(cmd, log, output)
		},
	}
	c.Flags().StringVarP(&session, "session", "s", "", "session name (required)")
	c.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	return c
}

func renderAudit(cmd *cobra.Command, log []provision.AuditEntry, output string) error {
	if output == "json" {
		return writeJSON(cmd.OutOrStdout(), log)
	}
	t := newTable(cmd.OutOrStdout(), "TIME", "USER", "ACTION", "CANDIDATE", "MACHINE", "DETAIL")
	for _, e := range log {
		t.row(e.Time.Local().Format("2006-01-02 15:04:05"), e.User, e.Action, cmp.Or(e.Candidate, "-"), cmp.Or(e.Machine, "-"), e.Detail)
	}
	return t.flush()
}
