package exam

import (
	"fmt"
	"time"

	"github.com/tailab/tailab/checks"
)

// VerdictChange is one check of one candidate whose verdict changed between two
// gradings.
type VerdictChange struct {
	Candidate string
	Check     string // check id, suite-qualified when two suites share it
	From, To  checks.Status
	Delta     float64 // points gained (negative: lost)
}

// Line renders "15:04:05 c01 dns-actif fail → pass (+2 pts)".
func (c VerdictChange) Line(at time.Time) string {
	from := string(c.From)
	if from == "" {
		from = "(new)"
	}
	s := fmt.Sprintf("%s %s %s %s → %s", at.Format("15:04:05"), c.Candidate, c.Check, from, c.To)
	if c.Delta != 0 {
		s += fmt.Sprintf(" (%+g pts)", c.Delta)
	}
	return s
}

// Diff lists, in cur's order, the results of cur whose status or points
// differ from prev's (matched by candidate, suite and check id); a nil prev has
// no changes (the first round is printed in full).
func Diff(prev, cur *checks.Report) []VerdictChange {
	if prev == nil || cur == nil {
		return nil
	}
	type key struct{ cand, suite, check string }
	before := map[key]checks.Result{}
	for _, c := range prev.Candidates {
		for _, r := range c.Results {
			before[key{c.ID, r.Suite, r.CheckID}] = r
		}
	}
	shared := map[string]int{} // check ids defined by several suites
	for _, c := range cur.Candidates {
		suites := map[string]map[string]bool{}
		for _, r := range c.Results {
			if suites[r.CheckID] == nil {
				suites[r.CheckID] = map[string]bool{}
			}
			suites[r.CheckID][r.Suite] = true
			shared[r.CheckID] = max(shared[r.CheckID], len(suites[r.CheckID]))
		}
	}
	var out []VerdictChange
	for _, c := range cur.Candidates {
		for _, r := range c.Results {
			old, seen := before[key{c.ID, r.Suite, r.CheckID}]
			if seen && old.Status == r.Status && old.Points == r.Points {
				continue
			}
			id := r.CheckID
			if shared[id] > 1 {
				id = r.Suite + "/" + id
			}
			ch := VerdictChange{Candidate: c.ID, Check: id, To: r.Status, Delta: r.Points - old.Points}
			if seen {
				ch.From = old.Status
			}
			out = append(out, ch)
		}
	}
	return out
}

// RoundSummary is the line that ends round n of `grade --watch`.
func RoundSummary(at time.Time, n, changes int, rep *checks.Report) string {
	t := rep.Totals()
	var pts, maxPts float64
	for _, c := range rep.Candidates {
		pts += c.Points
		maxPts += c.MaxPoints
	}
	what := fmt.Sprintf("%d change(s)", changes)
	if n == 1 {
		what = "first grading"
	}
	return fmt.Sprintf("%s round %d: %s; %d passed, %d failed, %d errors, %d skipped; %g/%g pts (%d candidate(s))",
		at.Format("15:04:05"), n, what, t.Pass, t.Fail, t.Error, t.Skip, pts, maxPts, len(rep.Candidates))
}
