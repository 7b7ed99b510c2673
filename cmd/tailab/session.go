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

func newDownCommand(g *globalOptions) *cobra.Command {
	var session string
	var candidates []string
	ask := &confirmFlags{}
	c := &cobra.Command{
		Use:   "down --session NAME [--candidate ID]...",
		Short: "Remove a session's domains, networks, volumes and files (idempotent)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if session == "" {
				return errclass.Usagef("--session is required")
			}
			_, sess, err := exam.OpenSession(g.DataDir, session, candidates...)
			if err != nil {
				return err
			}
			if err := ask.confirm(cmd, g, exam.Rescue{Action: "down", Session: sess, Candidates: candidates}); err != nil {
				return err
			}
			eng, err := g.engine(sess.Provider)
			if err != nil {
				return err
			}
			defer eng.Provider.Close()
			start := time.Now()
			obs := progress.NewLines(cmd.ErrOrStderr(), g.Quiet, start)
			if err := exam.Down(cmd.Context(), eng, sess, candidates, obs); err != nil {
				return err
			}
			if !g.Quiet {
				fmt.Fprintf(cmd.ErrOrStderr(), "%s in %.1fs\n", exam.DownSummary(eng.State, session, candidates), time.Since(start).Seconds())
			}
			return nil
		},
	}
	c.Flags().StringVarP(&session, "session", "s", "", "session name (required)")
	c.Flags().StringSliceVarP(&candidates, "candidate", "c", nil, "only these candidates (repeat -c, or c01,c02)")
	ask.flags(c)
	return c
}

func newStatusCommand(g *globalOptions) *cobra.Command {
	var session, output string
	c := &cobra.Command{
		Use:   "status [--session NAME] [-o table|json]",
		Short: "Show every candidate machine: state, addresses, readiness",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := validOutput(output, "table", "json"); err != nil {
				return err
			}
			st, err := provision.OpenState(g.DataDir)
			if err != nil {
				return err
			}
			all, err := exam.Status(cmd.Context(), st, session, func(name string) (provision.Provider, error) {
				eng, err := g.engine(name)
				if err != nil {
					return nil, err
				}
				return eng.Provider, nil
			})
			if err != nil {
				return err
			}
			return renderStatus(cmd, all, output)
		},
	}
	c.Flags().StringVarP(&session, "session", "s", "", "only this session")
	c.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	return c
}

func renderStatus(cmd *cobra.Command, ms []provision.MachineState, output string) error {
	if output == "json" {
		if ms == nil {
			ms = []provision.MachineState{}
		}
		return writeJSON(cmd.OutOrStdout(), ms)
	}
	return exam.PrintStatus(cmd.OutOrStdout(), ms)
}

func newSessionCommand(g *globalOptions) *cobra.Command {
	c := &cobra.Command{Use: "session", Short: "Manage sessions"}
	var output string
	var all bool
	list := &cobra.Command{
		Use:   "list [--all]",
		Short: "List sessions (with --all, those down whose gradings and records are kept)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := validOutput(output, "table", "json"); err != nil {
				return err
			}
			rows, err := exam.ListSessions(g.DataDir, all)
			switch {
			case err != nil:
				return err
			case output == "json":
				return writeJSON(cmd.OutOrStdout(), rows)
			}
			return exam.PrintSessions(cmd.OutOrStdout(), rows, g.Loc, all)
		},
	}
	list.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	list.Flags().BoolVarP(&all, "all", "a", false, "also the sessions taken down whose gradings are kept")
	c.AddCommand(list)
	c.AddCommand(newSessionWindowCommands(g)...) // open, close: gateway.go
	return c
}
