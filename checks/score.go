package checks

import (
	"math"

	"github.com/tailab/tailab/checks/referential"
)

// Score computes a candidate's competence scores, CCP scores, totals and counts
// from cr.Results (any previous scores are replaced). The rules, documented in
// docs/scoring.md:
//
//   - a competence's MaxPoints is the sum of its machine checks' MaxPoints, and its
//     Points the sum of the points of the checks that passed; fail, error and skip
//     earn nothing (error is never the candidate's fault: re-grade once fixed);
//   - jury items are not machine points: they are counted (Counts.Jury) and their
//     titles listed in JuryItems;
//   - a result not applicable to the candidate (StatusNA: its `when` names faults
//     the candidate did not draw) is counted (Counts.NA) and nothing else: it adds
//     neither to Points nor to MaxPoints, so each candidate is scored out of the
//     checks of their own incidents;
//   - a critical check that failed, or was skipped because a prerequisite failed,
//     caps its competence at 0 points (Capped, UncappedPoints keeps the sum); an
//     error does not cap;
//   - every competence of the referential is present, in official order, even with
//     no check; CCP and candidate totals add up the (capped) competence points.
func Score(ref *referential.Referential, cr *CandidateReport) {
	comps := ref.Competences()
	index := make(map[string]int, len(comps))
	scores := make([]CompetenceScore, len(comps))
	for i, c := range comps {
		index[c.ID] = i
		scores[i] = CompetenceScore{ID: c.ID, Title: c.Title, CCP: c.CCP}
	}
	cr.Counts = Counts{}
	for _, r := range cr.Results {
		cr.Counts.Add(r.Status)
		i, ok := index[r.Competence]
		if !ok {
			continue // not in this referential: the loader prevents it
		}
		s := &scores[i]
		s.Counts.Add(r.Status)
		if r.Status == StatusNA {
			continue // not the candidate's: neither points nor max points
		}
		if r.Status == StatusJury {
			s.JuryItems = append(s.JuryItems, r.Title)
			if r.JuryMark != nil { // marked: the jury's points count
				s.MaxPoints += r.MaxPoints
				s.Points += r.JuryMark.Points
				s.JuryPoints += r.JuryMark.Points
			}
			continue
		}
		s.MaxPoints += r.MaxPoints
		if r.Status == StatusPass {
			s.Points += r.Points
		}
		if r.Critical && (r.Status == StatusFail || r.Status == StatusSkip) {
			s.Capped = true
		}
	}
	for i := range scores {
		s := &scores[i]
		if s.Capped {
			s.UncappedPoints, s.Points = s.Points, 0
		}
		s.Percent = percent(s.Points, s.MaxPoints)
	}
	cr.Competences = scores

	cr.CCPs = make([]CCPScore, len(ref.CCPs))
	cr.Points, cr.MaxPoints = 0, 0
	for i, ccp := range ref.CCPs {
		cs := CCPScore{ID: ccp.ID, Title: ccp.Title}
		for _, c := range ccp.Competences {
			s := scores[index[c.ID]]
			cs.Points += s.Points
			cs.MaxPoints += s.MaxPoints
		}
		cs.Percent = percent(cs.Points, cs.MaxPoints)
		cr.CCPs[i] = cs
		cr.Points += cs.Points
		cr.MaxPoints += cs.MaxPoints
	}
}

// percent is points/max as a percentage rounded to one decimal; 0 when max is 0.
func percent(points, max float64) float64 {
	if max <= 0 {
		return 0
	}
	return math.Round(points/max*1000) / 10
}

// Totals counts every result of the report by status.
func (r *Report) Totals() Counts {
	var c Counts
	for _, cr := range r.Candidates {
		c.Pass += cr.Counts.Pass
		c.Fail += cr.Counts.Fail
		c.Error += cr.Counts.Error
		c.Skip += cr.Counts.Skip
		c.Jury += cr.Counts.Jury
		c.NA += cr.Counts.NA
	}
	return c
}

// Exit codes of a grading (ARCHITECTURE.md).
const (
	ExitPass  = 0 // every machine check passed
	ExitFail  = 1 // some check failed or was skipped
	ExitInfra = 3 // some check could not be observed (status error)
)

// ExitCode maps the report to the CLI's exit code: ExitInfra when any check is
// in error (the grade is incomplete), ExitFail when any failed or was skipped,
// ExitPass otherwise. Jury items and checks not applicable (na) do not count.
func (r *Report) ExitCode() int {
	t := r.Totals()
	switch {
	case t.Error > 0:
		return ExitInfra
	case t.Fail > 0 || t.Skip > 0:
		return ExitFail
	}
	return ExitPass
}
