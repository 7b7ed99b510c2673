package exam

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/tailab/tailab/internal/errclass"
	"github.com/tailab/tailab/provision"
)

// Status is every machine of a session (of every session when session is
// ""), as its provider sees it now; provider builds a provider from its name.
func Status(ctx context.Context, st *provision.State, session string, provider func(name string) (provision.Provider, error)) ([]provision.MachineState, error) {
	var sessions []provision.Session
	if session != "" {
		s, err := st.Session(session)
		if err != nil {
			return nil, errclass.Wrap(errclass.NotFound, err)
		}
		sessions = []provision.Session{*s}
	} else {
		var err error
		if sessions, err = st.Sessions(); err != nil {
			return nil, err
		}
	}
	var all []provision.MachineState
	for i := range sessions {
		ins, err := sessions[i].Instances()
		if err != nil {
			return nil, err
		}
		p, err := provider(sessions[i].Provider)
		if err != nil {
			return nil, err
		}
		ms, err := p.Status(ctx, &sessions[i], ins)
		p.Close()
		if err != nil {
			return nil, err
		}
		all = append(all, ms...)
	}
	return all, nil
}

// PrintStatus writes machine states as a table; NOTE is the provider's note
// (an error, or an existing machine's reachability per transport).
func PrintStatus(w io.Writer, ms []provision.MachineState) error {
	t := newTable(w, "SESSION", "CANDIDATE", "MACHINE", "KIND", "STATE", "MGMT", "ADDRESSES", "NOTE")
	for _, m := range ms {
		var addrs []string
		for _, n := range slices.Sorted(maps.Keys(m.Addresses)) {
			addrs = append(addrs, n+"="+m.Addresses[n])
		}
		t.row(m.Session, m.Candidate, m.Machine, m.Kind, m.State, m.MgmtAddress, strings.Join(addrs, " "), m.Error)
	}
	return t.flush()
}

// PrintPlan writes a plan as `up --dry-run` shows it: its actions, the
// summary, and what the new machines need against what the host offers.
func PrintPlan(w io.Writer, plan *provision.Plan) error {
	t := newTable(w, "OP", "TYPE", "CANDIDATE", "NAME", "HOST", "REASON")
	for _, a := range plan.Actions {
		t.row(string(a.Op), a.Resource.Type, a.Resource.Candidate, a.Resource.Name, a.Resource.Host, a.Reason)
	}
	if err := t.flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nPlan: %s.\n", plan.Summary())
	if plan.Offers == (provision.Capacity{}) {
		return nil // the provider does not see the host's capacity (terraform: the runs' workers; static: nothing is created)
	}
	fmt.Fprintf(w, "Needs %d vCPU, %d MiB memory, %d MiB disk; the host offers %d CPU, %d MiB free memory, %d MiB free disk.\n",
		plan.Needs.CPUs, plan.Needs.MemoryMiB, plan.Needs.DiskMiB, plan.Offers.CPUs, plan.Offers.MemoryMiB, plan.Offers.DiskMiB)
	return nil
}
