package exam

import (
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
// criterion left to it, or an override of an automated verdict on the
// session's latest grading holding the candidate — after checking it fits
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
	if e.IsOverride() {
		what = "correction du jury " + e.Item + " : " + report.StatusLabel(e.Status)
	}
	if e.Note != "" {
		what += " — " + e.Note
	}
	return st.Audit(session, provision.AuditEntry{User: e.Author, Action: "jury", Candidate: e.Candidate, Detail: what})
}
