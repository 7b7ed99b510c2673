package report

import (
	"slices"
	"time"

	"github.com/tailab/tailab/checks"
)

// WordToReview is the proposal when a check of the CCP could not be observed
// (an infrastructure error): the grade is incomplete, no decision is proposed.
const WordToReview = "à revoir"

// Proposal is the decision on one CCP the subject assesses: the one the rule
// proposes (Decision, Why) and the one the jury took (Jury), when taken.
type Proposal struct {
	CCP, Title    string
	Decision, Why string
	Jury          *checks.JuryDecision
}

// Proposals are a candidate's decisions, one per CCP the subject assesses for
// them, in CCP order, under the grading's rule (r.Decision).
func Proposals(r *checks.Report, c *checks.CandidateReport) []Proposal {
	var out []Proposal
	for i := range c.CCPs {
		s := &c.CCPs[i]
		if ccpAssessment(c, s.ID) == assessNotAssessed {
			continue
		}
		p := Proposal{CCP: s.ID, Title: s.Title}
		p.Decision, p.Why = propose(r.Decision, s, c)
		p.Jury = juryDecision(c, s.ID)
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b Proposal) int { return naturalCompare(a.CCP, b.CCP) })
	return out
}

func juryDecision(c *checks.CandidateReport, ccp string) *checks.JuryDecision {
	for i := range c.Decisions {
		if c.Decisions[i].CCP == ccp {
			return &c.Decisions[i]
		}
	}
	return nil
}

// propose applies the rule of a CCP: an error in it → à revoir; a critical
// check of the rule failed, or a competence capped by a critical check of the
// suite → non acquis; else acquis from the threshold. "" when nothing of the
// CCP is scored yet (only jury criteria, unmarked).
func propose(rules *checks.DecisionRules, s *checks.CCPScore, c *checks.CandidateReport) (decision, why string) {
	if s.MaxPoints <= 0 {
		return "", ""
	}
	rule := rules.For(s.ID)
	var source string
	if rules != nil && rules.Source != "" {
		source = " (règle " + map[string]string{"lab": "du lab", "session": "de la session"}[rules.Source] + ")"
	}
	inCCP := map[string]bool{}
	for i := range c.Competences {
		if comp := &c.Competences[i]; comp.CCP == s.ID {
			inCCP[comp.ID] = true
			if comp.Counts.Error > 0 {
				return WordToReview, "vérification en erreur en " + comp.ID + " : note incomplète"
			}
		}
	}
	for _, res := range c.Results {
		if inCCP[res.Competence] && rule.IsCritical(res) && (res.Status == checks.StatusFail || res.Status == checks.StatusSkip) {
			return checks.DecisionNotAcquired, "vérification critique " + safeText(res.CheckID) + " échouée" + source
		}
	}
	for i := range c.Competences {
		if comp := &c.Competences[i]; inCCP[comp.ID] && comp.Capped {
			return checks.DecisionNotAcquired, "vérification critique échouée en " + comp.ID
		}
	}
	if s.Percent < rule.Threshold {
		return checks.DecisionNotAcquired, frPercent(s.Percent) + " < " + frPercent(rule.Threshold) + source
	}
	return checks.DecisionAcquired, frPercent(s.Percent) + " ≥ " + frPercent(rule.Threshold) + source
}

// JuryDecisionText is how every format writes the jury's decision: "acquis
// (Mme Martin, 12/06/2026 16:04:07 CEST) — note".
func JuryDecisionText(d *checks.JuryDecision, loc *time.Location) string {
	if d == nil {
		return ""
	}
	s := d.Decision + " (" + byAt(d.Author, d.At, loc) + ")"
	if d.Note != "" {
		s += " — " + safeText(d.Note)
	}
	return s
}
