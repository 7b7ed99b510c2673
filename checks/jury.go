package checks

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/tailab/tailab/checks/referential"
)

// JuryMark is the jury's mark for a criterion left to it (a result in status
// jury): its points count with the machine's in the competence, the CCP and
// the total.
type JuryMark struct {
	Points float64   `json:"points"`
	Note   string    `json:"note,omitempty"`
	Author string    `json:"author"`
	At     time.Time `json:"at"`
}

// Override is the jury's correction of an automated verdict (like an InSpec
// waiver): the result takes Status, and the original verdict, points and
// evidence stay beside it, with who corrected it and why.
type Override struct {
	Status         Status    `json:"status"` // pass or fail
	Note           string    `json:"note"`
	Author         string    `json:"author"`
	At             time.Time `json:"at"`
	OriginalStatus Status    `json:"original_status"`
	OriginalPoints float64   `json:"original_points"`
}

// JuryInput is what the jury gave for one candidate: marks by jury item id,
// overrides by check id (Status, Note, Author, At; the originals are filled
// when applied).
type JuryInput struct {
	Marks     map[string]JuryMark
	Overrides map[string]Override
	Decisions map[string]JuryDecision // by CCP id
}

// ApplyJury puts the jury's marks and overrides on a candidate's results and
// scores them again with ref: totals are then automatic + jury points. A mark
// for an item the candidate's results do not hold, or above its points, is
// an error (the caller checks before storing, so a stored one that no longer
// fits a new suite is reported, never dropped silently).
func ApplyJury(ref *referential.Referential, cr *CandidateReport, in JuryInput) error {
	seen := map[string]bool{}
	for i := range cr.Results {
		r := &cr.Results[i]
		if m, ok := in.Marks[r.CheckID]; ok && r.Status == StatusJury {
			if m.Points < 0 || m.Points > r.MaxPoints {
				return fmt.Errorf("candidate %s: %g points for %s, which is worth %g", cr.ID, m.Points, r.CheckID, r.MaxPoints)
			}
			m := m
			r.JuryMark, seen[r.CheckID] = &m, true
		}
		if o, ok := in.Overrides[r.CheckID]; ok && r.Status != StatusJury && r.Status != StatusNA {
			o.OriginalStatus, o.OriginalPoints = r.Status, r.Points
			if r.Override != nil { // applied before: keep the machine's verdict
				o.OriginalStatus, o.OriginalPoints = r.Override.OriginalStatus, r.Override.OriginalPoints
			}
			r.Status, r.Points = o.Status, 0
			if o.Status == StatusPass {
				r.Points = r.MaxPoints
			}
			r.Override, seen[r.CheckID] = &o, true
		}
	}
	for id := range in.Marks {
		if !seen[id] {
			return fmt.Errorf("candidate %s has no jury criterion %q in this grading", cr.ID, id)
		}
	}
	for id := range in.Overrides {
		if !seen[id] {
			return fmt.Errorf("candidate %s has no automated check %q to override in this grading", cr.ID, id)
		}
	}
	cr.Decisions = nil
	for _, ccp := range slices.Sorted(maps.Keys(in.Decisions)) {
		d := in.Decisions[ccp]
		if !slices.ContainsFunc(cr.CCPs, func(s CCPScore) bool { return s.ID == ccp }) {
			return fmt.Errorf("candidate %s has no CCP %q in this grading", cr.ID, ccp)
		}
		if !ValidDecision(d.Decision) {
			return fmt.Errorf("candidate %s, %s: decision %q (%s or %s)", cr.ID, ccp, d.Decision, DecisionAcquired, DecisionNotAcquired)
		}
		d.CCP = ccp
		cr.Decisions = append(cr.Decisions, d)
	}
	if ref != nil {
		Score(ref, cr)
	}
	return nil
}
