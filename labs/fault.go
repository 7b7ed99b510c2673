package labs

import (
	"sort"
	"strings"

	"github.com/tailab/tailab/internal/yamlx"
)

// Fault is a breakdown applied to a candidate's machines once they are ready (a
// stopped service, a wrong DNS server, a locked account, a wrong gateway, a full
// disk, a poisoned hosts file…): the candidate must diagnose and repair it.
//
// Faults without a group are applied to every candidate. Among the faults that
// share a group, one is drawn per candidate, seeded by session, candidate and
// group, so a re-run draws the same and neighbours usually differ.
type Fault struct {
	Name string `yaml:"name" json:"name"`
	// Title says in French what the fault breaks (verify's table, the jury's notes).
	Title string `yaml:"title" json:"title,omitempty"`
	// Description is the symptom as the candidate's ticket states it (French).
	Description string `yaml:"description" json:"description,omitempty"`
	Group       string `yaml:"group" json:"group,omitempty"`
	Machine     string `yaml:"machine" json:"machine"`
	Transport   string `yaml:"transport" json:"transport,omitempty"`
	// Run is what breaks the machine, in the transport's language: a POSIX shell
	// script (ssh, given to `sh -s`), a PowerShell script (winrm) or LDIF change
	// records (ldap).
	Run     string   `yaml:"run" json:"run"`
	Timeout Duration `yaml:"timeout" json:"timeout,omitempty"`

	Pos yamlx.Pos       `yaml:"-" json:"-"`
	At  yamlx.Positions `yaml:"-" json:"-"`
}

// Step is the fault as a step to apply.
func (f Fault) Step() Step {
	return Step{Name: f.Name, Title: f.Title, Machine: f.Machine, Transport: f.Transport,
		Run: f.Run, Timeout: f.Timeout, Pos: f.Pos, At: f.At}
}

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
func (l *Lab) ApplicableSteps(applied []Fault) []Step {
	if l.Solution == nil {
		return nil
	}
	on := map[string]bool{}
	for _, f := range applied {
		on[f.Name] = true
	}
	var out []Step
	for _, s := range l.Solution.Steps {
		if s.Fault == "" || on[s.Fault] {
			out = append(out, s)
		}
	}
	return out
}

// StepTransport is the step's transport, ssh by default.
func (s *Step) StepTransport() string {
	if t := strings.TrimSpace(s.Transport); t != "" {
		return t
	}
	return "ssh"
}
