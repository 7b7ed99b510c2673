package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tailab/tailab/provision"
)

func newGCCommand(g *globalOptions) *cobra.Command {
	var yes bool
	var provider string
	c := &cobra.Command{
		Use:   "gc [--yes]",
		Short: "Find (and with --yes remove) tailab resources whose session is gone",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := provision.OpenState(g.DataDir)
			if err != nil {
				return err
			}
			// No session changes while gc looks: one being created would
			// look like an orphan.
			lock, err := st.LockGC()
			if err != nil {
				return err // busy: infrastructure (exit 3)
			}
			defer lock.Unlock()
			sessions, err := st.Sessions()
			if err != nil {
				return err
			}
			keep := map[string]bool{}
			for _, s := range sessions {
				keep[s.Name] = true
			}
			names, explicit := providers(g).Names(), cmd.Flags().Changed("provider")
			if explicit {
				names = []string{provider}
			}
			var ps []provision.Provider
			for _, name := range names {
				eng, err := g.engine(name)
				if err == nil {
					defer eng.Provider.Close()
					ps = append(ps, eng.Provider)
				} else if explicit {
					return err
				} // else: not in this build
			}
			found, ferr := provision.FindOrphans(cmd.Context(), ps, keep)
			w, n := cmd.OutOrStdout(), 0
			t := newTable(w, "PROVIDER", "TYPE", "NAME", "CANDIDATE")
			for _, o := range found {
				for _, r := range o.Resources {
					t.row(o.Provider.Name(), r.Type, r.Name, r.Candidate)
					n++
				}
			}
			switch {
			case n == 0:
				fmt.Fprintf(w, "no orphan resource (looked at: %d provider(s))\n", len(ps))
			case !yes:
				err = t.flush()
				fmt.Fprintf(w, "\n%d orphan resource(s); run `tailab gc --yes` to remove them\n", n)
			default:
				if err = errors.Join(t.flush(), provision.RemoveAllOrphans(cmd.Context(), found)); err == nil {
					fmt.Fprintf(w, "\nremoved %d orphan resource(s)\n", n)
				}
			}
			return errors.Join(ferr, err) // unclassified: the infrastructure
		},
	}
	c.Flags().BoolVar(&yes, "yes", false, "remove what was found")
	c.Flags().StringVar(&provider, "provider", "", "where to look: libvirt (every configured host) or terraform (the organization's workspaces); default: every provider configured")
	return c
}
