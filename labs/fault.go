package labs

import "sort"

// Fault is a breakdown applied to a candidate's machines once they are ready (a
// stopped service, a wrong DNS server, a locked account, a wrong gateway, a full
// disk, a poisoned hosts file…): the candidate must diagnose and repair it.
//
// Faults without a group are applied to every candidate. Among the faults that
// share a group, one is drawn per candidate, seeded by session, candidate and
// group, so a re-run draws the same and neighbours usually differ.
type Fault struct {
	Action `yaml:",inline"`
	// Description is the symptom as the candidate's ticket states it (French).
	Description string `yaml:"description" json:"description,omitempty"`
	Group       string `yaml:"group" json:"group,omitempty"`
	// Present tells whether the fault is still there: a script in the fault's
	// transport (ssh: POSIX shell, winrm: PowerShell) that exits 0 while the
	// fault is present and non-zero once it is repaired. tailab reads it before
	// and after what it does to a machine (reset, re-creation, a snapshot that
	// restarts it) and re-applies a fault that was present before and is gone
	// after, never one the candidate had repaired. Templated like run.
	Present string `yaml:"present" json:"present,omitempty"`
}

// Step is the fault as a step to apply.
func (f Fault) Step() Step { return Step{Action: f.Action} }

// FaultsFor returns the faults applied to a candidate, in lab order: every
// fault without a group, and one drawn per group.
func (l *Lab) FaultsFor(session string, c Candidate) []Fault {
	groups := map[string][]string{}
	for _, f := range l.Faults {
		if f.Group != "" {
			groups[f.Group] = append(groups[f.Group], f.Name)
		}
	}
	chosen := map[string]bool{}
	names := make([]string, 0, len(groups))
	for g := range groups {
		names = append(names, g)
	}
	sort.Strings(names)
	for _, g := range names {
		members := groups[g]
		chosen[members[seed(session, c.ID, "fault-group", g).IntN(len(members))]] = true
	}
	var out []Fault
	for _, f := range l.Faults {
		if f.Group == "" || chosen[f.Name] {
			out = append(out, f)
		}
	}
	return out
}

// ApplicableSteps returns the solution steps for the given applied faults: every
// step, except those repairing a fault that was not applied.
func (l *Lab) ApplicableSteps(applied []Fault) []Step { return stepsFor(l.Solution, applied) }

// stepsFor returns sol's steps, except those repairing a fault not in applied.
func stepsFor(sol *Solution, applied []Fault) []Step {
	if sol == nil {
		return nil
	}
	on := map[string]bool{}
	for _, f := range applied {
		on[f.Name] = true
	}
	var out []Step
	for _, s := range sol.Steps {
		if s.Fault == "" || on[s.Fault] {
			out = append(out, s)
		}
	}
	return out
}
