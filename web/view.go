package web

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/checks/referential"
	"github.com/tailab/tailab/checks/report"
	"github.com/tailab/tailab/internal/person"
)

// cell is one score: a grid cell or a row of a candidate's table.
type cell struct {
	Missing bool   // not graded
	Percent string // "66,7 %" or "jury"
	Value   string // "66.7" (data-percent), "" when nothing is scored
	Ratio   string // "2/3"
	Band    string // high, mid, low, none
	Capped  bool
	Href    string
}

func scoreCell(points, max, percent float64, capped bool) cell {
	c := cell{Ratio: frRatio(points, max), Band: band(percent, max, capped), Capped: capped}
	if max <= 0 {
		c.Percent = "jury"
		return c
	}
	c.Percent = frPercent(percent)
	c.Value = strconv.FormatFloat(percent, 'f', 1, 64)
	return c
}

func frTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(loc).Format("02/01/2006 15:04:05")
}

func fullName(last, first string) string { return person.FullName(last, first) }

// naturalCompare orders "C1.2" before "C1.10" and "c2" before "c10".
func naturalCompare(a, b string) int {
	x, y := a, b
	for x != "" && y != "" {
		if isDigit(x[0]) && isDigit(y[0]) {
			i, j := 0, 0
			for i < len(x) && isDigit(x[i]) {
				i++
			}
			for j < len(y) && isDigit(y[j]) {
				j++
			}
			nx, ny := strings.TrimLeft(x[:i], "0"), strings.TrimLeft(y[:j], "0")
			if len(nx) != len(ny) {
				return len(nx) - len(ny)
			}
			if c := strings.Compare(nx, ny); c != 0 {
				return c
			}
			x, y = x[i:], y[j:]
			continue
		}
		if x[0] != y[0] {
			return int(x[0]) - int(y[0])
		}
		x, y = x[1:], y[1:]
	}
	if len(x) != len(y) {
		return len(x) - len(y)
	}
	return strings.Compare(a, b)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// Links. Path segments are escaped; IDs are short ASCII in practice.
func candidateHref(c string) string { return "/c/" + url.PathEscape(c) }
func competenceHref(c, comp string) string {
	return candidateHref(c) + "/" + url.PathEscape(comp)
}
func checkHref(c, comp string, r checks.Result) string {
	h := competenceHref(c, comp) + "/" + url.PathEscape(r.CheckID)
	if r.Suite != "" {
		h += "?suite=" + url.QueryEscape(r.Suite)
	}
	return h
}

// column is a competence or CCP of the grid.
type column struct{ ID, Title, CCP string }

// columns are the competences graded for some candidate (scored or left to the
// jury), in the referential's order, and the CCPs holding them.
func columns(st *state) (comps, ccps []column) {
	covered := map[string]column{}
	ccpSeen := map[string]column{}
	var refName string
	for _, l := range st.latest {
		refName = l.Referential
		for _, s := range l.Candidate.Competences {
			if s.MaxPoints > 0 || len(s.JuryItems) > 0 || s.Counts != (checks.Counts{}) {
				covered[s.ID] = column{ID: s.ID, Title: s.Title, CCP: s.CCP}
			}
		}
		for _, s := range l.Candidate.CCPs {
			ccpSeen[s.ID] = column{ID: s.ID, Title: s.Title}
		}
	}
	if ref, err := referential.Load(refName); err == nil {
		for _, c := range ref.Competences() {
			if col, ok := covered[c.ID]; ok {
				comps = append(comps, col)
			}
		}
		for _, c := range ref.CCPs {
			for _, comp := range comps {
				if comp.CCP == c.ID {
					ccps = append(ccps, column{ID: c.ID, Title: c.Title})
					break
				}
			}
		}
		return comps, ccps
	}
	for _, c := range covered {
		comps = append(comps, c)
	}
	sortColumns(comps)
	for _, c := range ccpSeen {
		ccps = append(ccps, c)
	}
	sortColumns(ccps)
	return comps, ccps
}

func sortColumns(cols []column) {
	for i := 1; i < len(cols); i++ {
		for j := i; j > 0 && naturalCompare(cols[j-1].ID, cols[j].ID) > 0; j-- {
			cols[j-1], cols[j] = cols[j], cols[j-1]
		}
	}
}

// history sums up a check's verdicts over the stored gradings: the changes
// (first grading, then every change of status or points) and since when it passes.
type history struct {
	Gradings   int
	Changes    []histRow
	GreenSince string // "" when it does not pass now
	EverGreen  string // first time it passed, "" never
}

type histRow struct {
	At, Key, Label, Status, Points, Message string
}

func historyOf(points []histPoint, loc *time.Location) history {
	h := history{Gradings: len(points)}
	var prev *histPoint
	var greenFrom time.Time
	for i := range points {
		p := &points[i]
		if p.Status == checks.StatusPass {
			if prev == nil || prev.Status != checks.StatusPass {
				greenFrom = p.At
			}
			if h.EverGreen == "" {
				h.EverGreen = frTime(p.At, loc)
			}
		}
		if prev == nil || prev.Status != p.Status || prev.Points != p.Points {
			h.Changes = append(h.Changes, histRow{
				At: frTime(p.At, loc), Key: p.Key, Label: statusLabel(p.Status), Status: string(p.Status),
				Points: resultPoints(checks.Result{Status: p.Status, Points: p.Points, MaxPoints: p.Max}), Message: safeText(p.Message),
			})
		}
		prev = p
	}
	if prev != nil && prev.Status == checks.StatusPass {
		h.GreenSince = frTime(greenFrom, loc)
	}
	return h
}

// The French formatting is the report formats' (checks/report), so the grid and
// the printed reports agree to the character.
var (
	band         = report.Band
	frPercent    = report.FrenchPercent
	frRatio      = report.FrenchRatio
	statusLabel  = report.StatusLabel
	resultPoints = report.ResultPoints
	safeText     = report.SafeText
)
