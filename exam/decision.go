package exam

import (
	"maps"
	"slices"
	"strings"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/checks/referential"
	"github.com/tailab/tailab/internal/yamlx"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
)

// DecisionRules are the rules proposing each CCP's decision in a session's
// gradings: the lab's (decision:), with the session's threshold in place of
// its thresholds when `up --decision-threshold` set one (the lab's critical
// checks stay); nil when neither sets anything (the default 50 %).
func DecisionRules(lab *labs.Lab, sess *provision.Session) *checks.DecisionRules {
	var out *checks.DecisionRules
	if dc := lab.Decision; dc != nil {
		out = &checks.DecisionRules{Source: "lab", CCPs: map[string]checks.DecisionRule{}}
		out.Default = &checks.DecisionRule{Threshold: dc.Threshold, Critical: refIDs(dc.Critical)}
		if dc.Threshold == 0 {
			out.Default.Threshold = checks.DefaultDecisionThreshold
		}
		for id, c := range dc.CCPs {
			r := checks.DecisionRule{Threshold: c.Threshold, Critical: refIDs(c.Critical)}
			if r.Threshold == 0 {
				r.Threshold = out.Default.Threshold
			}
			out.CCPs[id] = r
		}
	}
	if sess != nil && sess.DecisionThreshold > 0 {
		if out == nil {
			out = &checks.DecisionRules{Default: &checks.DecisionRule{}}
		}
		out.Source, out.Default.Threshold = "session", sess.DecisionThreshold
		for id, r := range out.CCPs {
			r.Threshold = sess.DecisionThreshold
			out.CCPs[id] = r
		}
	}
	return out
}

func refIDs(refs []labs.CheckRef) []string {
	var out []string
	for _, r := range refs {
		out = append(out, r.ID)
	}
	return out
}

// decisionDiagnostics checks that the critical checks the lab's decision
// rule names exist in its suites (with the position of each id in the lab
// file).
func decisionDiagnostics(lab *labs.Lab, suites []*checks.Suite) yamlx.Diagnostics {
	if lab.Decision == nil {
		return nil
	}
	ix := newCheckIndex(suites)
	var ds yamlx.Diagnostics
	at := func(pos yamlx.Pos) yamlx.Pos {
		if pos.File == "" {
			pos.File = lab.Source
		}
		return pos
	}
	if ref, err := referential.Load(lab.Referential); err == nil {
		var ccps []string
		for _, c := range ref.CCPs {
			ccps = append(ccps, c.ID)
		}
		for _, id := range slices.Sorted(maps.Keys(lab.Decision.CCPs)) {
			if !slices.Contains(ccps, id) {
				ds.Add(at(lab.Decision.CCPs[id].Pos), "decision.ccps."+id, "no CCP %q in the referential %s (valid: %s)%s",
					id, ref.Version, strings.Join(ccps, ", "), yamlx.Suggest(id, ccps))
			}
		}
	}
	refs, fields := lab.Decision.CriticalChecks()
	for i, r := range refs {
		if _, msg := ix.resolve(r.ID); msg != "" {
			ds.Add(at(r.Pos), fields[i], "%s", msg)
		}
	}
	return ds
}
