package labs

import (
	"encoding/json"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/tailab/tailab/internal/yamlx"
)

// Mutation is a near miss of the reference solution: steps applied after the
// whole solution that undo a detail of it (a GPO link disabled, the user in
// another OU, a share readable by everyone, a configuration saved but not
// running). `tailab verify --mutations` proves that the mutated lab fails
// exactly the checks listed in Fails: fewer means a check credits the near
// miss ("not caught"), more means a check fails what it does not verify
// ("overreach"). The checks themselves are the lab's suites'; ids are
// validated against them once the suites are loaded (exam.LabSuites).
type Mutation struct {
	// Name: lower-case letters, digits and '-'.
	Name string `yaml:"name" json:"name"`
	// Title says in French what the near miss is ("le lien de la GPO est désactivé").
	Title string `yaml:"title" json:"title"`
	// Steps are applied in order once the whole solution is: the same shapes
	// and transports as the solution's steps (without `fault`).
	Steps []Step `yaml:"steps" json:"steps"`
	// Fails are the checks (id, or suite/id) that must not pass on the
	// mutated lab — failed, or skipped because a check they depend on failed
	// — and every other machine check must pass.
	Fails []CheckRef `yaml:"fails" json:"fails"`
	// NA are checks this mutation does not decide (their verdict is not
	// compared): rare, e.g. a check that fails or not with the candidate's
	// drawn values. A check listed in both is refused.
	NA []CheckRef `yaml:"na" json:"na,omitempty"`

	Pos yamlx.Pos       `yaml:"-" json:"-"`
	At  yamlx.Positions `yaml:"-" json:"-"`
}

// CheckRef names a check of the lab's suites, by id or suite/id, with its
// position in the lab file (for the unknown-id diagnostic).
type CheckRef struct {
	ID  string
	Pos yamlx.Pos
}

// UnmarshalYAMLX implements yamlx.Unmarshaler.
func (r *CheckRef) UnmarshalYAMLX(d *yamlx.Decoder, n *yaml.Node, field string) {
	r.Pos = d.PosOf(n)
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" || strings.TrimSpace(n.Value) == "" {
		d.Errorf(n, field, "expected a check id (id, or suite/id)")
		return
	}
	r.ID = strings.TrimSpace(n.Value)
}

// MarshalJSON writes the id alone.
func (r CheckRef) MarshalJSON() ([]byte, error) { return json.Marshal(r.ID) }

// validateMutations checks the mutations' names, titles and steps (check ids
// are checked against the suites by exam.LabSuites).
func (l *Lab) validateMutations(d *yamlx.Decoder, resolved bool, machines []string, creds map[string]map[string]Credential) {
	check := func(s string) bool { return resolved || !templated(s) }
	seen := map[string]bool{}
	for i := range l.Mutations {
		m := &l.Mutations[i]
		field := fmt.Sprintf("mutations[%d]", i)
		errf := func(key, format string, args ...any) {
			d.Diags.Add(m.At.Of(key, m.Pos), field+"."+key, format, args...)
		}
		switch {
		case m.Name == "":
			errf("name", "a mutation needs a name")
		case check(m.Name) && !nameRe.MatchString(m.Name):
			errf("name", "%q: use lower-case letters, digits and '-', starting with a letter, at most 32 characters", m.Name)
		case seen[m.Name]:
			errf("name", "mutation %q is declared twice", m.Name)
		}
		seen[m.Name] = true
		if strings.TrimSpace(m.Title) == "" {
			errf("title", "a mutation needs a title: the near miss, in French (it is printed by verify)")
		} else if resolved && templated(m.Title) {
			leftover(d, m.At.Of("title", m.Pos), field+".title", m.Title)
		}
		if len(m.Steps) == 0 {
			errf("steps", "a mutation needs at least one step")
		}
		steps := map[string]bool{}
		for j := range m.Steps {
			st := &m.Steps[j]
			sf := fmt.Sprintf("%s.steps[%d]", field, j)
			validateAction(d, &st.Action, sf, machines, creds, check)
			if st.Fault != "" {
				d.Diags.Add(st.At.Of("fault", st.Pos), sf+".fault", "a mutation's step is always applied (after the whole solution): leave fault out")
			}
			if st.Restarts && check(st.Transport) && st.StepTransport() != "winrm" {
				d.Diags.Add(st.At.Of("restarts", st.Pos), sf+".restarts", "only winrm steps are watched through a restart (this one's transport is %s)", st.StepTransport())
			}
			if st.Name != "" && steps[st.Name] {
				d.Diags.Add(st.At.Of("name", st.Pos), sf+".name", "step %q is declared twice in this mutation", st.Name)
			}
			steps[st.Name] = true
		}
		if len(m.Fails) == 0 {
			errf("fails", "a mutation needs the checks it must fail (fails: [check ids]): a near miss that no check fails is not caught")
		}
		listed := map[string]bool{}
		for j, f := range m.Fails {
			if listed[f.ID] {
				d.Diags.Add(f.Pos, fmt.Sprintf("%s.fails[%d]", field, j), "check %q is listed twice", f.ID)
			}
			listed[f.ID] = true
		}
		for j, f := range m.NA {
			if listed[f.ID] {
				d.Diags.Add(f.Pos, fmt.Sprintf("%s.na[%d]", field, j), "check %q is listed in both fails and na", f.ID)
			}
			listed[f.ID] = true
		}
	}
}
