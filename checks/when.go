package checks

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/tailab/tailab/internal/yamlx"
	"gopkg.in/yaml.v3"
)

// When is a condition on the faults drawn for a candidate, on a check, a jury
// item or a whole suite (`when: {fault: NAME}` or `when: {any_fault: [A, B]}`):
// what it guards applies only to candidates who drew one of AnyFault. For the
// others it is not applicable (StatusNA): not observed, and counted neither in
// their points nor in their maximum (docs/scoring.md).
type When struct {
	// AnyFault are fault names of the lab; `fault: A` is `any_fault: [A]`.
	AnyFault []string
	Pos      yamlx.Pos // position of the `when` mapping

	names []nameRef // the names with their positions and fields, for CheckFaults
}

// Applies reports whether the condition holds for the candidate. A nil When
// always holds; so does any When when the candidate's faults are not known
// (Candidate.FaultsKnown false: a lab without faults, a session whose faults
// were not recorded): then every check applies, as before conditions existed.
func (w *When) Applies(c *Candidate) bool {
	if w == nil || !c.FaultsKnown {
		return true
	}
	for _, name := range w.AnyFault {
		for _, f := range c.Faults {
			if f.Name == name {
				return true
			}
		}
	}
	return false
}

// reason is the French message of a result the condition made not applicable.
func (w *When) reason() string {
	if len(w.AnyFault) == 1 {
		return fmt.Sprintf("sans objet : l'incident « %s » n'a pas été tiré pour ce candidat", w.AnyFault[0])
	}
	return fmt.Sprintf("sans objet : aucun des incidents « %s » n'a été tiré pour ce candidat", strings.Join(w.AnyFault, " », « "))
}

// rawWhen is `when` as decoded.
type rawWhen struct {
	Fault    nameRef   `yaml:"fault"`
	AnyFault []nameRef `yaml:"any_fault"`

	Pos yamlx.Pos       `yaml:"-"`
	At  yamlx.Positions `yaml:"-"`
}

// nameRef is a fault name with its position.
type nameRef struct {
	Value string
	Pos   yamlx.Pos
	field string
}

// UnmarshalYAMLX implements yamlx.Unmarshaler.
func (r *nameRef) UnmarshalYAMLX(d *yamlx.Decoder, n *yaml.Node, field string) {
	r.Pos, r.field = d.PosOf(n), field
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" || n.Value == "" {
		d.Errorf(n, field, "expected a fault name")
		return
	}
	r.Value = n.Value
}

// faultNameRe is the labs' name rule (labs.Fault names).
var faultNameRe = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)

// when validates a decoded condition; nil when there is none (or it is broken:
// the problems are in the diagnostics).
func (l *loader) when(rw *rawWhen, field string) *When {
	if rw == nil {
		return nil
	}
	at := func(key string) yamlx.Pos { return rw.At.Of(key, rw.Pos) }
	hasFault, hasAny := rw.At["fault"] != (yamlx.Pos{}), rw.At["any_fault"] != (yamlx.Pos{})
	w := &When{Pos: rw.Pos}
	switch {
	case rw.Pos.IsZero():
		return nil // `when:` null or not a mapping: reported by the decoder
	case hasFault && hasAny:
		l.d.Diags.Add(at("any_fault"), field, "give either fault or any_fault, not both")
		return nil
	case hasFault:
		if rw.Fault.Value == "" {
			return nil // reported by nameRef
		}
		w.names = []nameRef{rw.Fault}
	case hasAny:
		if len(rw.AnyFault) == 0 && !l.reported(field+".any_fault") {
			l.d.Diags.Add(at("any_fault"), field+".any_fault", "expected at least one fault name")
			return nil
		}
		w.names = rw.AnyFault
		if len(w.names) == 0 {
			return nil
		}
	default:
		if l.reported(field + ".") {
			return nil // an unknown key, reported with its suggestion
		}
		l.d.Diags.Add(rw.Pos, field, "expected fault: NAME or any_fault: [NAME, ...] (faults of the lab)")
		return nil
	}
	seen := map[string]bool{}
	ok := true
	for _, n := range w.names {
		switch {
		case n.Value == "":
			ok = false // reported by nameRef
		case !faultNameRe.MatchString(n.Value):
			l.d.Diags.Add(n.Pos, n.field, "%q is not a fault name (lower-case letters, digits and '-', starting with a letter)", n.Value)
			ok = false
		case seen[n.Value]:
			l.d.Diags.Add(n.Pos, n.field, "%q listed twice", n.Value)
			ok = false
		}
		seen[n.Value] = true
		w.AnyFault = append(w.AnyFault, n.Value)
	}
	if !ok {
		return nil
	}
	return w
}

// reported tells whether a diagnostic was already given for a field starting
// with prefix.
func (l *loader) reported(prefix string) bool {
	for _, d := range l.d.Diags {
		if strings.HasPrefix(d.Field, prefix) {
			return true
		}
	}
	return false
}

// CheckFaults reports the `when` conditions (of the suite, its checks and jury
// items) naming a fault that is not one of the lab's, with their position in
// the suite file: a lab loader calls it once the lab is known, as it calls
// CheckMachines (a condition on a fault that cannot be drawn would make its
// check not applicable to every candidate).
func (s *Suite) CheckFaults(faults []string) error {
	known := map[string]bool{}
	for _, f := range faults {
		known[f] = true
	}
	var diags yamlx.Diagnostics
	check := func(w *When) {
		if w == nil {
			return
		}
		for _, n := range w.names {
			switch {
			case len(faults) == 0:
				diags.Add(n.Pos, n.field, "unknown fault %q: the lab declares no faults (faults: in the lab file)", n.Value)
			case !known[n.Value]:
				diags.Add(n.Pos, n.field, "unknown fault %q%s", n.Value, yamlx.Suggest(n.Value, faults))
			}
		}
	}
	check(s.When)
	for _, c := range s.Checks {
		check(c.When)
	}
	for i := range s.Jury {
		check(s.Jury[i].When)
	}
	return diags.Err()
}

// Conditional reports whether some check or jury item of the suite (or the
// suite itself) has a `when` condition.
func (s *Suite) Conditional() bool {
	if s.When != nil {
		return true
	}
	for _, c := range s.Checks {
		if c.When != nil {
			return true
		}
	}
	for i := range s.Jury {
		if s.Jury[i].When != nil {
			return true
		}
	}
	return false
}
