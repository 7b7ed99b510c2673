package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/tailab/tailab/exam"
	"github.com/tailab/tailab/internal/errclass"
	"github.com/tailab/tailab/internal/progress"
	"github.com/tailab/tailab/provision"
)

// machineTarget is --session S --candidate C... [--machine M] of snapshot and reset (-c repeatable: one command, one confirmation).
type machineTarget struct {
	session, machine string
	candidates       []string
}

func (m *machineTarget) flags(c *cobra.Command) {
	f := c.PersistentFlags()
	f.StringVarP(&m.session, "session", "s", "", "session name (required)")
	f.StringSliceVarP(&m.candidates, "candidate", "c", nil, "candidate id (required; repeatable, or c01,c02)")
	f.StringVarP(&m.machine, "machine", "m", "", "only this machine (default: all of the candidate's)")
}

// open checks the flags and opens the session and its engine.
func (m *machineTarget) open(g *globalOptions) (*provision.Engine, *provision.Session, error) {
	if m.session == "" || len(m.candidates) == 0 {
		return nil, nil, errclass.Usagef("--session and --candidate are required")
	}
	_, sess, err := exam.OpenSession(g.DataDir, m.session, m.candidates...) // every candidate known before anything acts
	if err != nil {
		return nil, nil, err
	}
	eng, err := g.engine(sess.Provider)
	if err != nil {
		return nil, nil, err
	}
	return eng, sess, nil
}

// run opens the session and its engine (open), runs fn, and closes the
// provider's connections.
func (m *machineTarget) run(g *globalOptions, fn func(*provision.Engine, *provision.Session) error) error {
	eng, sess, err := m.open(g)
	if err != nil {
		return err
	}
	defer eng.Provider.Close()
	return fn(eng, sess)
}

func newSnapshotCommand(g *globalOptions) *cobra.Command {
	t := &machineTarget{}
	c := &cobra.Command{
		Use:   "snapshot create|list|revert|delete --session S --candidate C... [--machine M] [NAME]",
		Short: "Save and restore candidate machines (VMs: qcow2 internal snapshots; containers: private dirs)",
		Long: `snapshot saves the state of a candidate's machines (all of them, or --machine M)
under a name, and brings them back to it. VMs: libvirt internal snapshots of
their qcow2 overlays (a running VM's snapshot holds its memory too: revert
resumes it). Containers: a copy of their private dir (/srv and their files),
taken with the container frozen (not restarted), restored with it restarted. Every create,
revert and delete is written to the session's audit log.`,
	}
	t.flags(c)
	var output string
	list := &cobra.Command{
		Use:   "list",
		Short: "List snapshots",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := validOutput(output, "table", "json"); err != nil {
				return err
			}
			return t.run(g, func(eng *provision.Engine, sess *provision.Session) error {
				var snaps []provision.Snapshot
				if err := exam.EachCandidate(t.candidates, func(c string) error {
					s, err := eng.ListSnapshots(cmd.Context(), sess, c, t.machine)
					snaps = append(snaps, s...)
					return err
				}); err != nil {
					return err
				}
				if output == "json" {
					return writeJSON(cmd.OutOrStdout(), snaps)
				}
				tb := newTable(cmd.OutOrStdout(), "CANDIDATE", "MACHINE", "NAME", "CREATED", "STATE", "KIND")
				for _, s := range snaps {
					tb.row(s.Candidate, s.Machine, s.Name, s.CreatedAt.Local().Format("2006-01-02 15:04:05"), s.State, s.Kind)
				}
				return tb.flush()
			})
		},
	}
	list.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Save the machines' state under NAME",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return t.run(g, func(eng *provision.Engine, sess *provision.Session) error {
				start := time.Now()
				var snaps []provision.Snapshot
				err := exam.EachCandidate(t.candidates, func(c string) error {
					_, err := exam.Guard(cmd.Context(), eng.State, sess, c, t.machine, "snapshot create", g.logf(cmd), func() error {
						s, err := eng.CreateSnapshot(cmd.Context(), sess, c, t.machine, args[0])
						snaps = append(snaps, s...)
						return err
					})
					return err
				})
				for _, s := range snaps {
					if s.Name != "" && !g.Quiet {
						fmt.Fprintf(cmd.ErrOrStderr(), "%s/%s: snapshot %s (%s, %s)\n", s.Candidate, s.Machine, s.Name, s.Kind, s.State)
					}
				}
				if err != nil {
					return err
				}
				if !g.Quiet {
					fmt.Fprintf(cmd.ErrOrStderr(), "done in %.1fs\n", time.Since(start).Seconds())
				}
				return nil
			})
		},
	}
	var noWait bool
	revert := &cobra.Command{
		Use:   "revert NAME",
		Short: "Bring the machines back to snapshot NAME (they run, and are awaited until ready)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return t.run(g, func(eng *provision.Engine, sess *provision.Session) error {
				obs := progress.NewLines(cmd.ErrOrStderr(), g.Quiet, time.Now())
				return exam.EachCandidate(t.candidates, func(c string) error {
					_, err := exam.Guard(cmd.Context(), eng.State, sess, c, t.machine, "snapshot revert", g.logf(cmd), func() error {
						return eng.RevertSnapshot(cmd.Context(), sess, c, t.machine, args[0], provision.ApplyOptions{NoWait: noWait}, obs)
					})
					return err
				})
			})
		},
	}
	revert.Flags().BoolVar(&noWait, "no-wait", false, "do not wait for the machines to be ready")
	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete snapshot NAME",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return t.run(g, func(eng *provision.Engine, sess *provision.Session) error {
				return exam.EachCandidate(t.candidates, func(c string) error { return eng.DeleteSnapshot(cmd.Context(), sess, c, t.machine, args[0]) })
			})
		},
	}
	c.AddCommand(create, list, revert, del)
	return c
}
