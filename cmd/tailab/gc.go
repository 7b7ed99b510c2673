package main

import (
	"errors"
	"fmt"
	"strings"

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
			explicit := cmd.Flags().Changed("provider")
			names := []string{provider}
			if !explicit {
				names = providers().Names() // every provider this build has and is configured
			}
			return gcProviders(cmd, g, names, keep, yes, explicit)
		},
	}
	c.Flags().BoolVar(&yes, "yes", false, "remove what was found")
	c.Flags().StringVar(&provider, "provider", "", "where to look: libvirt (every configured host) or terraform (the organization's workspaces); default: every provider configured")
	return c
}

// gcProviders is `tailab gc`: the orphans of every provider named (one
// table), removed with yes. A provider this build lacks is skipped unless it
// was asked for by name; one that fails is reported and the others still
// looked at (the exit code says something failed).
func gcProviders(cmd *cobra.Command, g *globalOptions, names []string, keep map[string]bool, yes, explicit bool) error {
	w := cmd.OutOrStdout()
	type found struct {
		eng     *provision.Engine
		orphans []provision.Resource
	}
	var all []found
	var looked []string
	var errs []error
	for _, name := range names {
		eng, err := g.engine(name)
		if err != nil {
			if explicit {
				return err
			}
			continue // not in this build
		}
		defer eng.Provider.Close()
		looked = append(looked, name)
		orphans, err := eng.Provider.Orphans(cmd.Context(), keep)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		if len(orphans) > 0 {
			all = append(all, found{eng, orphans})
		}
	}
	n := 0
	for _, f := range all {
		n += len(f.orphans)
	}
	if n == 0 {
		fmt.Fprintf(w, "no orphan resource (looked at: %s)\n", strings.Join(looked, ", "))
	} else {
		t := newTable(w, "PROVIDER", "TYPE", "NAME", "CANDIDATE")
		for _, f := range all {
			for _, r := range f.orphans {
				t.row(f.eng.Provider.Name(), r.Type, r.Name, r.Candidate)
			}
		}
		if err := t.flush(); err != nil {
			return err
		}
		if !yes {
			fmt.Fprintf(w, "\n%d orphan resource(s); run `tailab gc --yes` to remove them\n", n)
		}
	}
	if yes {
		for _, f := range all {
			if err := f.eng.Provider.RemoveOrphans(cmd.Context(), f.orphans); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", f.eng.Provider.Name(), err))
				continue
			}
			fmt.Fprintf(w, "\nremoved %d orphan resource(s) (%s)\n", len(f.orphans), f.eng.Provider.Name())
		}
	}
	return errors.Join(errs...) // unclassified: the infrastructure
}
