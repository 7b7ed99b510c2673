package report

import (
	"errors"
	"slices"
	"strings"

	"github.com/tailab/tailab/checks"
)

var errNilReport = errors.New("report: nil report")

// sorted returns a deep-enough copy of r with candidates, competences, CCPs and
// results in a fixed order and nil slices made empty, so every formatter walks the
// same order and r itself is never modified.
//
// Order: candidates in roster order (Index; a jury follows its list), then by
// ID in natural order for those without one; competences and CCPs by ID in natural order (C1.2 before
// C1.10); results by competence (natural), then check ID (natural).
func sorted(r *checks.Report) (*checks.Report, error) {
	if r == nil {
		return nil, errNilReport
	}
	out := *r
	out.Candidates = slices.Clone(r.Candidates)
	if out.Candidates == nil {
		out.Candidates = []checks.CandidateReport{}
	}
	for i := range out.Candidates {
		c := &out.Candidates[i]
		c.Results = cloneNonNil(c.Results)
		c.Competences = cloneNonNil(c.Competences)
		c.CCPs = cloneNonNil(c.CCPs)
		slices.SortStableFunc(c.Results, func(a, b checks.Result) int {
			if n := naturalCompare(a.Competence, b.Competence); n != 0 {
				return n
			}
			return naturalCompare(a.CheckID, b.CheckID)
		})
		slices.SortStableFunc(c.Competences, func(a, b checks.CompetenceScore) int {
			return naturalCompare(a.ID, b.ID)
		})
		slices.SortStableFunc(c.CCPs, func(a, b checks.CCPScore) int {
			return naturalCompare(a.ID, b.ID)
		})
	}
	slices.SortStableFunc(out.Candidates, func(a, b checks.CandidateReport) int {
		if a.Index > 0 && b.Index > 0 && a.Index != b.Index {
			return cmpInt(a.Index, b.Index)
		}
		if (a.Index > 0) != (b.Index > 0) {
			return cmpInt(b.Index, a.Index) // numbered ones first
		}
		return naturalCompare(a.ID, b.ID)
	})
	return &out, nil
}

func cloneNonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return slices.Clone(s)
}

// naturalCompare orders strings with digit runs compared as numbers: "C1.2" <
// "C1.10", "cand2" < "cand10". Ties fall back to plain comparison.
func naturalCompare(a, b string) int {
	x, y := a, b
	for x != "" && y != "" {
		dx, dy := isDigit(x[0]), isDigit(y[0])
		switch {
		case dx && dy:
			nx, ny := digitRun(x), digitRun(y)
			vx, vy := strings.TrimLeft(x[:nx], "0"), strings.TrimLeft(y[:ny], "0")
			if len(vx) != len(vy) {
				return cmpInt(len(vx), len(vy))
			}
			if c := strings.Compare(vx, vy); c != 0 {
				return c
			}
			x, y = x[nx:], y[ny:]
		case x[0] != y[0]:
			return cmpInt(int(x[0]), int(y[0]))
		default:
			x, y = x[1:], y[1:]
		}
	}
	if c := cmpInt(len(x), len(y)); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func digitRun(s string) int {
	n := 0
	for n < len(s) && isDigit(s[n]) {
		n++
	}
	return n
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
