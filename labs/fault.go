package labs

import (
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Fault is a breakdown applied to a candidate's machines once they are ready (a
// stopped service, a wrong DNS server, a locked account, a wrong gateway, a full
// disk, a poisoned hosts file…): the candidate must diagnose and repair it.
//
// Faults without a group are applied to every candidate. Among the faults that
// share a group, one is drawn per candidate, seeded by session, candidate and
// group, so a re-run draws the same; a group whose faults say distinct is
// drawn by seat instead, so that neighbours never share a fault set.
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
	// Distinct makes the group's draw differ between neighbours: the candidate
	// at seat position p never draws the fault drawn at p-1 (SeatPosition) in
	// this group, so adjacent candidates never share a fault of the group (nor
	// a fault set). Every fault of the group says the same.
	Distinct bool `yaml:"distinct" json:"distinct,omitempty"`
	// Volatile says the fault lives in what a restart of its machine loses (a
	// stopped process, a route set at run time, a tmpfs): a machine found
	// stopped (the candidate stopped it from inside, it crashed) and started
	// by `up` gets it back unless present, as after a reset. Not volatile, a
	// fault lives on the machine's disk and a restart keeps it as it was,
	// repaired or not.
	Volatile bool `yaml:"volatile" json:"volatile,omitempty"`
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
	var distinct []string
	for _, g := range names {
		members := groups[g]
		if l.distinctGroup(g) {
			distinct = append(distinct, g)
			continue
		}
		chosen[members[seed(session, c.ID, "fault-group", g).IntN(len(members))]] = true
	}
	sizes := make([]int, len(distinct))
	for i, g := range distinct {
		sizes[i] = len(groups[g])
	}
	for i, k := range distinctDraw(session, sizes, SeatPosition(c)) {
		chosen[groups[distinct[i]][k]] = true
	}
	var out []Fault
	for _, f := range l.Faults {
		if f.Group == "" || chosen[f.Name] {
			out = append(out, f)
		}
	}
	return out
}

// distinctGroup says whether a group's faults are drawn distinct between neighbours.
func (l *Lab) distinctGroup(g string) bool {
	for _, f := range l.Faults {
		if f.Group == g && f.Distinct {
			return true
		}
	}
	return false
}

// distinctDraw draws the distinct groups (of the given sizes) for seat
// position pos: a chain from position 1, each position drawing in each group
// (seeded by session, group, position and attempt) until its fault differs
// from the position before's in that group, so neighbours share no fault of a
// distinct group (not one repair to copy); among such draws it takes one whose
// set differs from the position two before's when one exists (a row of three
// has three sets). It depends on the seat only: the same at every re-creation.
func distinctDraw(session string, sizes []int, pos int) []int {
	if len(sizes) == 0 {
		return nil
	}
	var prev, prev2 []int
	for p := 1; p <= pos; p++ {
		var cur []int
		for round := 0; round < 32; round++ {
			cur = make([]int, len(sizes))
			for i, n := range sizes {
				for attempt := 0; ; attempt++ {
					r := seed(session, "fault-groups-distinct", strconv.Itoa(i), strconv.Itoa(p), strconv.Itoa(round), strconv.Itoa(attempt))
					if cur[i] = r.IntN(n); n < 2 || prev == nil || cur[i] != prev[i] {
						break
					}
				}
			}
			if !slices.Equal(cur, prev2) {
				break
			}
		}
		prev2, prev = prev, cur
	}
	return prev
}

// SeatPosition is a candidate's place in the room: the number their seat
// (roster column Poste/Seat) ends with ("P07" → 7), else their roster index.
func SeatPosition(c Candidate) int {
	s := strings.TrimSpace(c.Seat)
	i := len(s)
	for i > 0 && s[i-1] >= '0' && s[i-1] <= '9' {
		i--
	}
	if n, err := strconv.Atoi(s[i:]); err == nil && i < len(s) && n > 0 && n < 100000 {
		return n
	}
	return max(c.Index, 1)
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
