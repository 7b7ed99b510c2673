package exam

import (
	"fmt"
	"strings"
	"time"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/checks/report"
	"github.com/tailab/tailab/internal/person"
)

// VerdictChange is one check of one candidate whose verdict changed between two
// gradings.
type VerdictChange struct {
	Candidate string
	Check     string // check id, suite-qualified when two suites share it
	From, To  checks.Status
	Delta     float64 // points gained (negative: lost)
}

// Line renders, in French as the jury reads it, "15:04:05 c01 dns-actif
// échec → réussi (+2 pts)".
func (c VerdictChange) Line(at time.Time) string {
	from := report.StatusLabel(c.From)
	if c.From == "" {
		from = "(nouveau)"
	}
	s := fmt.Sprintf("%s %s %s %s → %s", at.Format("15:04:05"), c.Candidate, c.Check, from, report.StatusLabel(c.To))
	if c.Delta != 0 {
		s += " (" + strings.Replace(fmt.Sprintf("%+g", c.Delta), ".", ",", 1) + " pts)"
	}
	return s
}

// CandidateLine is the progress line of a graded candidate, in French:
// "c01 — MARTIN Léa : 8 réussies, 1 échec, 0 erreur, 0 ignorée".
func CandidateLine(c checks.CandidateReport) string {
	who := c.ID
	if n := person.FullName(c.LastName, c.FirstName); n != "" {
		who += " — " + n
	}
	return who + " : " + countsLine(c.Counts)
}

// countsLine is "8 réussies, 1 échec, 0 erreur, 0 ignorée[, 2 sans objet]".
func countsLine(n checks.Counts) string {
	s := fmt.Sprintf("%s, %s, %s, %s", plural(n.Pass, "réussie", "réussies"), plural(n.Fail, "échec", "échecs"),
		plural(n.Error, "erreur", "erreurs"), plural(n.Skip, "ignorée", "ignorées"))
	if n.NA > 0 {
		s += fmt.Sprintf(", %d sans objet", n.NA)
	}
	return s
}

func plural(n int, one, many string) string {
	if n <= 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
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
	what := plural(changes, "changement", "changements")
	if n == 1 {
		what = "première correction"
	}
	return fmt.Sprintf("%s tour %d : %s ; %s ; %s/%s pts (%s)",
		at.Format("15:04:05"), n, what, countsLine(t),
		strings.Replace(fmt.Sprint(pts), ".", ",", 1), strings.Replace(fmt.Sprint(maxPts), ".", ",", 1),
		plural(len(rep.Candidates), "candidat", "candidats"))
}
