package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"
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
				fmt.Fprintf(cmd.ErrOrStderr(), "session %s: removed in %.1fs\n", session, time.Since(start).Seconds())
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
			var sessions []provision.Session
			if session != "" {
				s, err := st.Session(session)
				if err != nil {
					return errclass.Wrap(errclass.NotFound, err)
				}
				sessions = []provision.Session{*s}
			} else if sessions, err = st.Sessions(); err != nil {
				return err
			}
			var all []provision.MachineState
			for i := range sessions {
				eng, err := g.engine(sessions[i].Provider)
				if err != nil {
					return err
				}
				ms, err := liveStatus(cmd, eng, &sessions[i])
				eng.Provider.Close()
				if err != nil {
					return err
				}
				all = append(all, ms...)
			}
			return renderStatus(cmd, all, output)
		},
	}
	c.Flags().StringVarP(&session, "session", "s", "", "only this session")
	c.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	return c
}

func liveStatus(cmd *cobra.Command, eng *provision.Engine, s *provision.Session) ([]provision.MachineState, error) {
	ins, err := s.Instances()
	if err != nil {
		return nil, err
	}
	return eng.Provider.Status(cmd.Context(), s, ins)
}

func renderStatus(cmd *cobra.Command, ms []provision.MachineState, output string) error {
	if output == "json" {
		if ms == nil {
			ms = []provision.MachineState{}
		}
		return writeJSON(cmd.OutOrStdout(), ms)
	}
	t := newTable(cmd.OutOrStdout(), "SESSION", "CANDIDATE", "MACHINE", "KIND", "STATE", "MGMT", "ADDRESSES", "NOTE")
	for _, m := range ms {
		var addrs []string
		for _, n := range slices.Sorted(maps.Keys(m.Addresses)) {
			addrs = append(addrs, n+"="+m.Addresses[n])
		}
		t.row(m.Session, m.Candidate, m.Machine, m.Kind, m.State, m.MgmtAddress, strings.Join(addrs, " "), m.Error)
	}
	return t.flush()
}

func newSessionCommand(g *globalOptions) *cobra.Command {
	c := &cobra.Command{Use: "session", Short: "Manage sessions"}
	var output string
	list := &cobra.Command{
		Use:   "list",
		Short: "List sessions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := validOutput(output, "table", "json"); err != nil {
				return err
			}
			st, err := provision.OpenState(g.DataDir)
			if err != nil {
				return err
			}
			sessions, err := st.Sessions()
			if err != nil {
				return err
			}
			if output == "json" {
				type row struct {
					Name       string    `json:"name"`
					Lab        string    `json:"lab"`
					Provider   string    `json:"provider"`
					Candidates int       `json:"candidates"`
					CreatedAt  time.Time `json:"created_at"`
					MgmtCIDR   string    `json:"mgmt_cidr"`
				}
				rows := []row{}
				for _, s := range sessions {
					rows = append(rows, row{s.Name, s.Lab, s.Provider, len(s.Candidates), s.CreatedAt, s.MgmtCIDR})
				}
				return writeJSON(cmd.OutOrStdout(), rows)
			}
			t := newTable(cmd.OutOrStdout(), "SESSION", "LAB", "CANDIDATES", "PROVIDER", "CREATED", "MGMT")
			for _, s := range sessions {
				t.row(s.Name, s.Lab, fmt.Sprint(len(s.Candidates)), s.Provider, s.CreatedAt.In(g.Loc).Format("2006-01-02 15:04 MST"), s.MgmtCIDR)
			}
			return t.flush()
		},
	}
	list.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	c.AddCommand(list)
	c.AddCommand(newSessionWindowCommands(g)...) // open, close: gateway.go
	return c
}
