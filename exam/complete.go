package exam

import (
	"context"
	"slices"
	"time"

	"github.com/tailab/tailab/provision"
)

// The shell completion's answers (`tailab completion`): "name\tdescription"
// lines, nothing on any error (a completion never fails a command line).

// CompleteSessions offers the data dir's sessions, with their lab.
func CompleteSessions(dataDir string) []string {
	st, err := provision.OpenState(dataDir)
	if err != nil {
		return nil
	}
	sessions, err := st.Sessions()
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(sessions))
	for _, s := range sessions {
		out = append(out, s.Name+"\t"+s.Lab)
	}
	return out
}

// CompleteCandidates offers a session's candidates, with their names.
func CompleteCandidates(dataDir, session string) []string {
	_, s, err := OpenSession(dataDir, session)
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(s.Candidates))
	for _, c := range s.Candidates {
		out = append(out, c.ID+"\t"+c.FullName())
	}
	return out
}

// CompleteMachines offers the machines of a session's lab, with their role.
func CompleteMachines(dataDir, session string) []string {
	_, s, err := OpenSession(dataDir, session)
	if err != nil {
		return nil
	}
	lab, err := s.LoadLab()
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(lab.Machines))
	for _, m := range lab.Machines {
		out = append(out, m.Name+"\t"+m.Role)
	}
	return out
}

// CompleteSnapshots offers the names of a candidate's snapshots (of one
// machine, or of any), asking the session's provider through engine for at
// most 5 seconds.
func CompleteSnapshots(ctx context.Context, dataDir, session string, candidates []string, machine string, engine func(provider string) (*provision.Engine, error)) []string {
	candidate := "" // -c is repeatable: the snapshots of the last one given
	if n := len(candidates); n > 0 {
		candidate = candidates[n-1]
	}
	_, s, err := OpenSession(dataDir, session, candidate)
	if err != nil || candidate == "" {
		return nil
	}
	eng, err := engine(s.Provider)
	if err != nil {
		return nil
	}
	defer eng.Provider.Close()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	snaps, err := eng.ListSnapshots(ctx, s, candidate, machine)
	if err != nil {
		return nil
	}
	var out []string
	for _, sn := range snaps {
		if !slices.ContainsFunc(out, func(o string) bool { return o == sn.Name }) {
			out = append(out, sn.Name)
		}
	}
	return out
}
