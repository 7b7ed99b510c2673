package exam

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/checks/report"
	"github.com/tailab/tailab/internal/errclass"
	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/results"
)

// SetJury records what the jury gave for a candidate — a mark for a
// criterion left to it, an override of an automated verdict on the
// session's latest grading holding the candidate, or the decision on a CCP
// the subject assesses — after checking it fits
// that grading (the item exists and is of the right kind, the points within
// its scale, a note for an override), and writes it to the session's audit
// log. Nothing is re-probed; the stored grading is not rewritten.
func SetJury(dataDir, session string, e results.JuryEntry) error {
	st, _, err := OpenSession(dataDir, session, e.Candidate)
	if err != nil {
		return err
	}
	rs, err := results.Open(dataDir)
	if err != nil {
		return err
	}
	g, err := rs.ForCandidate(session, e.Candidate, time.Time{})
	if err != nil {
		return Classify(err)
	}
	if e.At.IsZero() {
		e.At = time.Now().UTC()
	}
	if e.Author == "" { // the record prints who marked: the audit log's user, never blank
		e.Author = provision.CurrentUser()
	}
	if e.IsDecision() {
		if err := checkDecision(g.Report, &e); err != nil {
			return err
		}
	}
	if e.IsOverride() {
		if e.Status != checks.StatusPass && e.Status != checks.StatusFail {
			return errclass.Usagef("--status %q: pass or fail", e.Status)
		}
		if e.Note == "" {
			return errclass.Usagef("an override needs its reason (--note): it is printed beside the machine's verdict")
		}
		e.Grading = g.Key
	}
	in := results.JuryInput([]results.JuryEntry{e}, g.Key)[e.Candidate]
	for i := range g.Report.Candidates {
		if c := &g.Report.Candidates[i]; c.ID == e.Candidate {
			if err := checks.ApplyJury(nil, c, in); err != nil {
				return errclass.Wrap(errclass.Usage, err)
			}
		}
	}
	if err := rs.SaveJury(session, e); err != nil {
		return err
	}
	// The audit log is read by the jury in its record: French, decimal comma.
	what := "note du jury " + e.Item + " : " + strings.Replace(strconv.FormatFloat(e.Points, 'f', -1, 64), ".", ",", 1) + " pt"
	if e.IsDecision() {
		what = "décision du jury " + e.Item + " : " + e.Decision
	}
	if e.IsOverride() {
		what = "correction du jury " + e.Item + " : " + report.StatusLabel(e.Status)
	}
	if e.Note != "" {
		what += " — " + e.Note
	}
	return st.Audit(session, provision.AuditEntry{User: e.Author, Action: "jury", Candidate: e.Candidate, Detail: what})
}

// ParseDecision reads a decision as the CLI and the dashboard write it:
// acquis, non-acquis (or "non acquis").
func ParseDecision(s string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "acquis":
		return checks.DecisionAcquired, nil
	case "non-acquis", "non acquis":
		return checks.DecisionNotAcquired, nil
	}
	return "", errclass.Usagef("decision %q: acquis or non-acquis", s)
}

// checkDecision accepts a decision on a CCP the subject assesses for the
// candidate (one the record offers), in its canonical words.
func checkDecision(rep *checks.Report, e *results.JuryEntry) error {
	d, err := ParseDecision(e.Decision)
	if err != nil {
		return err
	}
	e.Decision = d
	for i := range rep.Candidates {
		if c := &rep.Candidates[i]; c.ID == e.Candidate {
			var offered []string
			for _, p := range report.Proposals(rep, c) {
				if p.CCP == e.Item {
					return nil
				}
				offered = append(offered, p.CCP)
			}
			return errclass.Usagef("%s is not assessed by this subject for %s: no decision to take (the record offers %s)",
				e.Item, e.Candidate, strings.Join(offered, ", "))
		}
	}
	return errclass.NotFoundf("candidate %q is not in the latest grading", e.Candidate)
}

// JuryArgs fills an entry from `tailab jury VERB`'s arguments: set ITEM
// POINTS (a decimal comma or point), override CHECK (with --status), decide
// CCP DECISION.
func JuryArgs(e *results.JuryEntry, verb string, args []string, status string) error {
	e.Item = args[0]
	switch verb {
	case "set":
		p, err := strconv.ParseFloat(strings.Replace(args[1], ",", ".", 1), 64)
		if err != nil || math.IsNaN(p) || math.IsInf(p, 0) {
			return errclass.Usagef("POINTS %q: a number (1,5 or 1.5)", args[1])
		}
		e.Points = p
	case "override":
		e.Status = checks.Status(status)
	case "decide":
		e.Decision = args[1]
	}
	return nil
}
