// Package provision turns a lab and a roster into running, isolated labs — one
// instance per candidate — through a Provider (libvirt on one host, Terraform
// across many), and keeps the session's state in the store.
//
// Failure policy: tailab never rolls back a half-done `up`. Every resource it
// creates is named and tagged (session, candidate, lab), and its state is
// recorded as soon as it exists, so after a failure, Ctrl-C or kill -9 the next
// `up` reconciles — creates what is missing, keeps what is right, replaces what
// drifted — and `down` removes everything either way.
package provision

import (
	"fmt"
	"regexp"
	"time"

	"github.com/tailab/tailab/labs"
)

// Session is a set of candidates sitting the same lab on the same exam.
type Session struct {
	Name       string           `json:"name"`
	Lab        string           `json:"lab"`
	LabSource  string           `json:"lab_source"` // where the lab came from: a path or catalog:NAME
	LabYAML    string           `json:"lab_yaml"`   // the lab as it was when the session was created
	Provider   string           `json:"provider"`
	CreatedAt  time.Time        `json:"created_at"`
	StartedAt  time.Time        `json:"started_at"` // the exam's start: objects created before it do not count
	MgmtCIDR   string           `json:"mgmt_cidr"`  // the session's management network
	Candidates []labs.Candidate `json:"candidates"`
	// DecisionThreshold, when set (up --decision-threshold), replaces the
	// lab's thresholds for proposing CCP decisions (exam.DecisionRules).
	DecisionThreshold float64 `json:"decision_threshold,omitempty"`
	// Inventory is, for a session of existing machines (provision/static), the
	// inventory as it was at `up` (YAML) and where it came from: the machines'
	// addresses, ports and host keys, which no provider created.
	Inventory       string `json:"inventory,omitempty"`
	InventorySource string `json:"inventory_source,omitempty"`
}

// NameRe is the shape of session names and candidate ids: short, since they make
// up resource names.
var NameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,19}$`)

// ValidateName checks a session name or candidate id.
func ValidateName(what, s string) error {
	if !NameRe.MatchString(s) {
		return fmt.Errorf("%s %q: use 1-20 lower-case letters, digits or '-', starting with a letter or digit", what, s)
	}
	return nil
}

// LoadLab parses the session's own copy of its lab.
func (s *Session) LoadLab() (*labs.Lab, error) {
	return labs.Load(s.LabSource, []byte(s.LabYAML))
}

// Instances resolves the lab for every candidate (or only those listed).
func (s *Session) Instances(only ...string) ([]*labs.Instance, error) {
	lab, err := s.LoadLab()
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, c := range only {
		want[c] = true
	}
	var out []*labs.Instance
	for _, c := range s.Candidates {
		if len(want) > 0 && !want[c.ID] {
			continue
		}
		in, err := lab.Resolve(labs.ResolveInput{Session: s.Name, Candidate: c})
		if err != nil {
			return nil, fmt.Errorf("candidate %q: %w", c.ID, err)
		}
		out = append(out, in)
	}
	for c := range want {
		if _, ok := s.Candidate(c); !ok {
			return nil, fmt.Errorf("session %q has no candidate %q", s.Name, c)
		}
	}
	return out, nil
}

// Candidate returns the session's candidate with that id.
func (s *Session) Candidate(id string) (labs.Candidate, bool) {
	for _, c := range s.Candidates {
		if c.ID == id {
			return c, true
		}
	}
	return labs.Candidate{}, false
}

// NumberedCandidates returns n candidates c01..cNN.
func NumberedCandidates(n int) []labs.Candidate {
	out := make([]labs.Candidate, n)
	for i := range out {
		out[i] = labs.Candidate{ID: fmt.Sprintf("c%02d", i+1), Index: i + 1}
	}
	return out
}
