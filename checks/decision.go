package checks

import (
	"slices"
	"time"
)

// DefaultDecisionThreshold is the percentage of a CCP's points (automatic +
// jury) from which a decision "acquis" is proposed when neither the lab nor
// the session sets a rule.
const DefaultDecisionThreshold = 50.0

// The jury's decisions on a CCP, as every format writes them.
const (
	DecisionAcquired    = "acquis"
	DecisionNotAcquired = "non acquis"
)

// DecisionRule is how a CCP's decision is proposed: "acquis" from Threshold
// percent of its points, unless one of the Critical checks failed (or was
// skipped, a prerequisite having failed). The jury confirms or changes it.
type DecisionRule struct {
	Threshold float64  `json:"threshold"`          // percent, 0 < t ≤ 100
	Critical  []string `json:"critical,omitempty"` // check ids
}

// DecisionRules are the rules of a grading: lab-wide (or session-wide) and
// per CCP, with where they come from (Source: "lab", "session"; "" for the
// default, DefaultDecisionThreshold and no critical check).
type DecisionRules struct {
	Default *DecisionRule           `json:"default,omitempty"`
	CCPs    map[string]DecisionRule `json:"ccps,omitempty"`
	Source  string                  `json:"source,omitempty"`
}

// For is the rule of one CCP: its own, else the lab-wide one, else the
// default. Rules may be nil.
func (r *DecisionRules) For(ccp string) DecisionRule {
	if r != nil {
		if c, ok := r.CCPs[ccp]; ok {
			return c
		}
		if r.Default != nil {
			return *r.Default
		}
	}
	return DecisionRule{Threshold: DefaultDecisionThreshold}
}

// IsCritical tells whether a result is of one of the rule's critical checks
// (named id, or suite/id).
func (r DecisionRule) IsCritical(res Result) bool {
	return slices.Contains(r.Critical, res.CheckID) || slices.Contains(r.Critical, res.Suite+"/"+res.CheckID)
}

// JuryDecision is the decision the jury took on one CCP (it confirms or
// changes the proposed one), with who took it and why.
type JuryDecision struct {
	CCP      string    `json:"ccp"`
	Decision string    `json:"decision"` // DecisionAcquired or DecisionNotAcquired
	Note     string    `json:"note,omitempty"`
	Author   string    `json:"author"`
	At       time.Time `json:"at"`
}

// ValidDecision tells the two decisions a jury takes from anything else.
func ValidDecision(d string) bool { return d == DecisionAcquired || d == DecisionNotAcquired }
