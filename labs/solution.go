package labs

import (
	"fmt"
	"strings"

	"github.com/tailab/tailab/internal/yamlx"
)

// StepTransports are the transports a fault or solution step can run over:
// ssh (a POSIX shell script), winrm (a PowerShell script) and ldap (LDIF
// change records applied to the directory).
var StepTransports = []string{"ssh", "winrm", "ldap"}

// Solution is a lab's reference solution: the ordered steps that take an
// untouched instance (faults applied) to full marks. Which checks each step
// satisfies is not declared: `tailab verify` discovers it (docs/catalog.md).
type Solution struct {
	// Baseline lists checks (by id, or suite/id) that pass on the untouched lab by
	// design — infrastructure guards such as "the server answers SSH". Every
	// other machine check must be lost on the untouched lab.
	Baseline []string `yaml:"baseline" json:"baseline,omitempty"`
	// Steps are applied in order.
	Steps []Step `yaml:"steps" json:"steps"`

	Pos yamlx.Pos       `yaml:"-" json:"-"`
	At  yamlx.Positions `yaml:"-" json:"-"`
}

// Step is a solution step: an action, applied only when the fault it repairs
// (if any) was applied, and possibly restarting its machine.
type Step struct {
	Action `yaml:",inline"`
	// Fault names the fault the step repairs: the step is applied only when
	// that fault was applied to the candidate.
	Fault string `yaml:"fault" json:"fault,omitempty"`
	// Restarts declares that the step restarts its machine (a domain
	// controller's promotion, a domain join): the next step on that machine
	// waits until it went down and answers again. A winrm step whose script
	// runs `shutdown /r`, Restart-Computer or -Restart is taken as one without it.
	Restarts bool `yaml:"restarts" json:"restarts,omitempty"`
}

// validateScenario checks the solution and the faults against the machines.
// Once resolved, the texts people read (descriptions, step titles) must hold
// no template text any more.
func (l *Lab) validateScenario(d *yamlx.Decoder, resolved bool) {
	check := func(s string) bool { return resolved || !templated(s) }
	machines := make([]string, 0, len(l.Machines))
	creds := map[string]map[string]Credential{}
	for _, m := range l.Machines {
		machines = append(machines, m.Name)
		creds[m.Name] = m.Credentials
	}
	faults := map[string]bool{}
	var faultNames []string
	for i := range l.Faults {
		f := &l.Faults[i]
		field := fmt.Sprintf("faults[%d]", i)
		validateAction(d, &f.Action, field, machines, creds, check)
		if templated(f.Title) {
			// Reports, the jury record and verify print a fault's title as
			// written, the same for every candidate.
			d.Diags.Add(f.At.Of("title", f.Pos), field+".title", "%q holds a template: a fault's title is printed as written in the reports and the jury record, the same for every candidate; write it without {{ ... }} (the description is rendered for each candidate)", f.Title)
		}
		if resolved && templated(f.Description) {
			leftover(d, f.At.Of("description", f.Pos), field+".description", f.Description)
		}
		if f.Name != "" {
			if faults[f.Name] {
				d.Diags.Add(f.At.Of("name", f.Pos), field+".name", "fault %q is declared twice", f.Name)
			}
			faults[f.Name] = true
			faultNames = append(faultNames, f.Name)
		}
		if f.Present != "" && check(f.Transport) && f.StepTransport() == "ldap" {
			d.Diags.Add(f.At.Of("present", f.Pos), field+".present", "an ldap fault has no presence script (LDIF has no exit status): give the fault another transport, or leave present out")
		}
		if f.Distinct && f.Group == "" {
			d.Diags.Add(f.At.Of("distinct", f.Pos), field+".distinct", "distinct applies to a group's draw: give the fault a group")
		} else if f.Group != "" && f.Distinct != l.distinctGroup(f.Group) {
			d.Diags.Add(f.At.Of("group", f.Pos), field+".group", "the faults of group %q disagree on distinct: set it on all of them", f.Group)
		}
		if f.Group != "" && check(f.Group) && !nameRe.MatchString(f.Group) {
			d.Diags.Add(f.At.Of("group", f.Pos), field+".group", "%q: use lower-case letters, digits and '-'", f.Group)
		}
	}
	l.validateMutations(d, resolved, machines, creds)
	if l.Solution == nil {
		if len(l.Mutations) > 0 {
			d.Diags.Add(l.At.Of("mutations", l.Pos), "mutations", "mutations are near misses of the reference solution: the lab needs a solution")
		}
		return
	}
	s := l.Solution
	if len(s.Steps) == 0 {
		d.Diags.Add(s.At.Of("steps", s.Pos), "solution.steps", "a solution needs at least one step")
	}
	seen := map[string]bool{}
	for i := range s.Steps {
		st := &s.Steps[i]
		field := fmt.Sprintf("solution.steps[%d]", i)
		validateAction(d, &st.Action, field, machines, creds, check)
		if st.Restarts && check(st.Transport) && st.StepTransport() != "winrm" {
			d.Diags.Add(st.At.Of("restarts", st.Pos), field+".restarts", "only winrm steps are watched through a restart (this one's transport is %s)", st.StepTransport())
		}
		if resolved && templated(st.Title) {
			leftover(d, st.At.Of("title", st.Pos), field+".title", st.Title)
		}
		if st.Name != "" {
			if seen[st.Name] {
				d.Diags.Add(st.At.Of("name", st.Pos), field+".name", "step %q is declared twice", st.Name)
			}
			seen[st.Name] = true
		}
		if st.Fault != "" && check(st.Fault) && !faults[st.Fault] {
			d.Diags.Add(st.At.Of("fault", st.Pos), field+".fault", "no fault named %q in `faults`%s", st.Fault, yamlx.Suggest(st.Fault, faultNames))
		}
	}
	for i, b := range s.Baseline {
		if strings.TrimSpace(b) == "" {
			d.Diags.Add(s.At.Of("baseline", s.Pos), fmt.Sprintf("solution.baseline[%d]", i), "empty check id")
		}
	}
}

// validateAction checks one fault or step: names, machine, transport, and that
// the machine has credentials for the action's transport (actions log in as the
// grader does).
func validateAction(d *yamlx.Decoder, st *Action, field string, machines []string, creds map[string]map[string]Credential, check func(string) bool) {
	errf := func(key, format string, args ...any) {
		d.Diags.Add(st.At.Of(key, st.Pos), field+"."+key, format, args...)
	}
	switch {
	case st.Name == "":
		errf("name", "a step needs a name")
	case check(st.Name) && !nameRe.MatchString(st.Name):
		errf("name", "%q: use lower-case letters, digits and '-', starting with a letter, at most 32 characters", st.Name)
	}
	switch {
	case st.Machine == "":
		errf("machine", "a step needs a machine")
	case check(st.Machine) && !oneOf(st.Machine, machines):
		errf("machine", "no machine named %q%s", st.Machine, yamlx.Suggest(st.Machine, machines))
	}
	if st.Transport != "" && check(st.Transport) && !oneOf(st.Transport, StepTransports) {
		errf("transport", "transport %q is not supported for steps (valid: %s)", st.Transport, strings.Join(StepTransports, ", "))
	} else if mc, ok := creds[st.Machine]; ok && check(st.Machine) && check(st.Transport) {
		if tr := st.StepTransport(); mc[tr].User == "" {
			key := "transport"
			if st.Transport == "" {
				key = "machine"
			}
			errf(key, "machine %q has no %s credentials for this step's transport %s (add credentials.%s to the machine)", st.Machine, tr, tr, tr)
		}
	}
	if strings.TrimSpace(st.Run) == "" {
		errf("run", "a step needs a `run` script")
	}
	if st.Timeout < 0 {
		errf("timeout", "negative timeout")
	}
}

// Scenario is a candidate's faults and reference solution, templates rendered
// with the candidate's parameters.
type Scenario struct {
	// Faults are every fault of the lab, rendered; Drawn those applied to the
	// candidate (FaultsFor).
	Faults, Drawn []Fault
	// Solution is nil when the lab has none.
	Solution *Solution
	// Mutations are the lab's near misses of the solution.
	Mutations []Mutation
}

// StepsFor returns the solution's steps for a candidate whose drawn faults are
// drawn: every step, except those that repair a fault that was not drawn.
func (sc *Scenario) StepsFor(drawn []Fault) []Step { return stepsFor(sc.Solution, drawn) }

// ResolveScenario renders the lab's faults and solution for one candidate.
func (l *Lab) ResolveScenario(in ResolveInput) (*Scenario, error) {
	if l.raw == nil {
		return nil, fmt.Errorf("lab %q was not loaded from a file", l.Name)
	}
	d := yamlx.NewDecoder(l.File)
	params := l.drawParams(d, in)
	if len(d.Diags) > 0 {
		return nil, d.Diags.Err()
	}
	data := TemplateData{Params: params, Candidate: in.Candidate, Session: in.Session, Lab: l.Name, Index: in.Candidate.Index}
	var out Lab
	d.Decode(renderNode(d, l.raw, data, "", true), &out, "")
	if err := d.Diags.Err(); err != nil {
		return nil, err
	}
	return &Scenario{Faults: out.Faults, Drawn: out.FaultsFor(in.Session, in.Candidate), Solution: out.Solution, Mutations: out.Mutations}, nil
}
