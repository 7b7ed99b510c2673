package labs

import (
	"fmt"
	"maps"
	"slices"

	"github.com/tailab/tailab/internal/yamlx"
)

// Decision is the lab's rule proposing each CCP's decision on the jury record
// (docs/scoring.md): "acquis" from Threshold percent of the CCP's points
// (automatic + jury), unless one of the Critical checks failed; lab-wide,
// and per CCP (CCPs, which replace it for their CCP). The jury confirms or
// changes the proposal; a session may set its own threshold (up
// --decision-threshold).
//
//	decision:
//	  threshold: 60
//	  critical: [ad.users]
//	  ccps:
//	    CCP3: {threshold: 70, critical: [fault.dns-client]}
type Decision struct {
	Threshold float64                 `yaml:"threshold" json:"threshold,omitempty"`
	Critical  []CheckRef              `yaml:"critical" json:"critical,omitempty"`
	CCPs      map[string]DecisionRule `yaml:"ccps" json:"ccps,omitempty"`

	Pos yamlx.Pos       `yaml:"-" json:"-"`
	At  yamlx.Positions `yaml:"-" json:"-"`
}

// DecisionRule is one CCP's rule.
type DecisionRule struct {
	Threshold float64    `yaml:"threshold" json:"threshold,omitempty"` // 0: the lab-wide one
	Critical  []CheckRef `yaml:"critical" json:"critical,omitempty"`

	Pos yamlx.Pos       `yaml:"-" json:"-"`
	At  yamlx.Positions `yaml:"-" json:"-"`
}

// validate checks thresholds (a percentage above 0, at most 100); that the
// CCPs are the referential's and the critical checks the suites' is checked
// when the suites are loaded (exam.LabSuites: the lab model is a leaf).
func (dc *Decision) validate(d *yamlx.Decoder) {
	rule := func(field string, threshold float64, at yamlx.Positions, pos yamlx.Pos) {
		if _, set := at["threshold"]; set && (threshold <= 0 || threshold > 100) {
			d.Diags.Add(at.Of("threshold", pos), field+".threshold", "%g: a percentage of the CCP's points, above 0 and at most 100", threshold)
		}
	}
	rule("decision", dc.Threshold, dc.At, dc.Pos)
	for _, id := range slices.Sorted(maps.Keys(dc.CCPs)) {
		c := dc.CCPs[id]
		rule("decision.ccps."+id, c.Threshold, c.At, c.Pos)
	}
}

// CriticalChecks are every check the rule names, with the field naming it.
func (dc *Decision) CriticalChecks() (refs []CheckRef, fields []string) {
	for i, r := range dc.Critical {
		refs, fields = append(refs, r), append(fields, fmt.Sprintf("decision.critical[%d]", i))
	}
	for _, k := range slices.Sorted(maps.Keys(dc.CCPs)) {
		for i, r := range dc.CCPs[k].Critical {
			refs, fields = append(refs, r), append(fields, fmt.Sprintf("decision.ccps.%s.critical[%d]", k, i))
		}
	}
	return refs, fields
}
