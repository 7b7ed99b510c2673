package report

import (
	"github.com/tailab/tailab/checks"
)

// Words the jury reads for a score that is no number, written the same in
// every format (table, CSV, JUnit, HTML, record, spreadsheet, dashboard).
const (
	// WordNotAssessed: the subject has no check and no jury criterion of it.
	WordNotAssessed = "non évaluée dans ce sujet"
	// WordNotApplicable: only checks of incidents the candidate did not draw.
	WordNotApplicable = "sans objet pour ce candidat"
	// WordJury: only criteria left to the jury, no machine-graded points.
	WordJury = "évaluée par le jury"
)

// assessment is how a competence (or CCP) is assessed for a candidate.
type assessment int

const (
	assessScored      assessment = iota // machine-graded points
	assessJury                          // only criteria left to the jury
	assessNA                            // only checks of incidents not drawn
	assessNotAssessed                   // nothing in the subject
)

// word is what a cell shows instead of a number ("" for a scored one).
func (a assessment) word() string {
	switch a {
	case assessJury:
		return WordJury
	case assessNA:
		return WordNotApplicable
	case assessNotAssessed:
		return WordNotAssessed
	}
	return ""
}

// competenceAssessment classifies a candidate's competence score.
func competenceAssessment(s *checks.CompetenceScore) assessment {
	switch {
	case s.MaxPoints > 0:
		return assessScored
	case len(s.JuryItems) > 0 || s.Counts.Jury > 0:
		return assessJury
	case s.Counts.NA > 0 && s.Counts == (checks.Counts{NA: s.Counts.NA}):
		return assessNA
	case s.Counts != (checks.Counts{}):
		return assessScored // checks worth 0 points: still graded
	}
	return assessNotAssessed
}

// ccpAssessment classifies a CCP from its competences: scored when one is,
// else left to the jury, else not applicable, else not assessed.
func ccpAssessment(c *checks.CandidateReport, ccp string) assessment {
	best := assessNotAssessed
	for i := range c.Competences {
		if s := &c.Competences[i]; s.CCP == ccp {
			best = min(best, competenceAssessment(s))
		}
	}
	return best
}

// sessionAssessed reports which competences and CCPs the subject assesses for
// some candidate of the report: the columns of the session's grids.
func sessionAssessed(r *checks.Report) map[string]bool {
	out := map[string]bool{}
	for i := range r.Candidates {
		c := &r.Candidates[i]
		for j := range c.Competences {
			s := &c.Competences[j]
			if competenceAssessment(s) != assessNotAssessed {
				out[s.ID] = true
				out[s.CCP] = true
			}
		}
	}
	return out
}

// assessedColumns keeps the columns the subject assesses; the others are
// returned apart, to be listed once as "non évaluées dans ce sujet".
func assessedColumns(cols []column, assessed map[string]bool) (kept, dropped []column) {
	for _, c := range cols {
		if assessed[c.ID] {
			kept = append(kept, c)
		} else {
			dropped = append(dropped, c)
		}
	}
	return kept, dropped
}

func columnIDs(cols []column) []string {
	ids := make([]string, len(cols))
	for i, c := range cols {
		ids[i] = c.ID
	}
	return ids
}
