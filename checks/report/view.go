package report

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/internal/person"
)

// column is one competence (or CCP) column of the session grid.
type column struct {
	ID    string
	Title string
}

// competenceColumns is the union of the competences of every candidate, in natural
// ID order, each with the first non-empty title seen. r must come from sorted.
func competenceColumns(r *checks.Report) []column {
	var cols []column
	seen := map[string]int{}
	for _, c := range r.Candidates {
		for _, s := range c.Competences {
			cols = addColumn(cols, seen, s.ID, s.Title)
		}
	}
	sortColumns(cols)
	return cols
}

// ccpColumns is the union of the CCPs of every candidate, in natural ID order.
func ccpColumns(r *checks.Report) []column {
	var cols []column
	seen := map[string]int{}
	for _, c := range r.Candidates {
		for _, s := range c.CCPs {
			cols = addColumn(cols, seen, s.ID, s.Title)
		}
	}
	sortColumns(cols)
	return cols
}

func addColumn(cols []column, seen map[string]int, id, title string) []column {
	if i, ok := seen[id]; ok {
		if cols[i].Title == "" {
			cols[i].Title = title
		}
		return cols
	}
	seen[id] = len(cols)
	return append(cols, column{ID: id, Title: title})
}

func sortColumns(cols []column) {
	// Insertion sort keeps this file free of another import; grids are tiny.
	for i := 1; i < len(cols); i++ {
		for j := i; j > 0 && naturalCompare(cols[j-1].ID, cols[j].ID) > 0; j-- {
			cols[j-1], cols[j] = cols[j], cols[j-1]
		}
	}
}

func competenceByID(c *checks.CandidateReport) map[string]*checks.CompetenceScore {
	m := make(map[string]*checks.CompetenceScore, len(c.Competences))
	for i := range c.Competences {
		m[c.Competences[i].ID] = &c.Competences[i]
	}
	return m
}

func ccpByID(c *checks.CandidateReport) map[string]*checks.CCPScore {
	m := make(map[string]*checks.CCPScore, len(c.CCPs))
	for i := range c.CCPs {
		m[c.CCPs[i].ID] = &c.CCPs[i]
	}
	return m
}

// percentOf is the candidate's overall percentage (0 when nothing is scored).
func percentOf(points, max float64) float64 {
	if max <= 0 {
		return 0
	}
	return 100 * points / max
}

// formatPoints writes points with at most two decimals, trailing zeros dropped:
// 3, 2.5, 0.33 (with a decimal comma when comma is set).
func formatPoints(v float64, comma bool) string {
	v = math.Round(v*100) / 100
	if v == 0 {
		v = 0 // no "-0"
	}
	return decimal(strconv.FormatFloat(v, 'f', -1, 64), comma)
}

// formatPercent writes a percentage with exactly one decimal: 66.7, 100.0.
func formatPercent(v float64, comma bool) string {
	s := strconv.FormatFloat(v, 'f', 1, 64)
	if s == "-0.0" {
		s = "0.0"
	}
	return decimal(s, comma)
}

func decimal(s string, comma bool) string {
	if comma {
		return strings.Replace(s, ".", ",", 1)
	}
	return s
}

// frPercent is a percentage as French readers write it: "66,7 %".
func frPercent(v float64) string { return formatPercent(v, true) + " %" }

// scorePercent is frPercent, or "—" when nothing is scored automatically
// (the cells of competences say why: see assessment).
func scorePercent(percent, max float64) string {
	if max <= 0 {
		return "—"
	}
	return frPercent(percent)
}

// frRatio is "points/max" with French decimals: "2,5/10".
func frRatio(points, max float64) string {
	return formatPoints(points, true) + "/" + formatPoints(max, true)
}

// fullName is "NOM Prénom"; empty when the roster gave no name.
func fullName(c *checks.CandidateReport) string {
	return person.FullName(c.LastName, c.FirstName)
}

// juryNote is how every format writes what the jury gave on a result: the
// correction of an automated verdict with its author, reason and the
// machine's verdict kept beside it, or a criterion's mark with its author and
// note; "" when the jury gave nothing.
func juryNote(res checks.Result, loc *time.Location) string {
	if o := res.Override; o != nil {
		return "Corrigé par le jury (" + byAt(o.Author, o.At, loc) + ") : " + safeText(o.Note) +
			" — verdict de la machine : " + statusLabel(o.OriginalStatus) + " " + frRatio(o.OriginalPoints, res.MaxPoints)
	}
	if m := res.JuryMark; m != nil {
		s := "Noté par le jury (" + byAt(m.Author, m.At, loc) + ") : " + frRatio(m.Points, res.MaxPoints)
		if m.Note != "" {
			s += " — " + safeText(m.Note)
		}
		return s
	}
	return ""
}

// byAt is who entered a jury entry and when: "dupont, 07/12/2026 10:00:00
// CET", the time alone when no author was recorded (entries made before
// authors were filled in), never "(, …)".
func byAt(author string, at time.Time, loc *time.Location) string {
	if author == "" {
		return frTime(at, loc)
	}
	return safeText(author) + ", " + frTime(at, loc)
}

// statusLabel is the French word for a status, as the jury reads it.
func statusLabel(s checks.Status) string {
	switch s {
	case checks.StatusPass:
		return "réussi"
	case checks.StatusFail:
		return "échec"
	case checks.StatusError:
		return "erreur"
	case checks.StatusSkip:
		return "ignoré"
	case checks.StatusJury:
		return "jury"
	case checks.StatusNA:
		return "sans objet"
	default:
		return string(s)
	}
}

// Score bands colour grid cells: high >= 80 %, mid >= 50 %, low below, capped is
// always low, none when there is nothing to score (jury-only competence).
const (
	bandHigh = "high"
	bandMid  = "mid"
	bandLow  = "low"
	bandNone = "none"
)

func band(percent, max float64, capped bool) string {
	switch {
	case max <= 0:
		return bandNone
	case capped:
		return bandLow
	case percent >= 80:
		return bandHigh
	case percent >= 50:
		return bandMid
	default:
		return bandLow
	}
}

// frTime formats a date for people: "12/06/2026 14:00:05 UTC"; "—" when unset.
func frTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(loc).Format("02/01/2006 15:04:05 MST")
}

// frDuration is a short duration: "1,234 s", "2 min 05 s".
func frDuration(d time.Duration) string {
	if d < time.Minute {
		return decimal(strconv.FormatFloat(d.Seconds(), 'f', 3, 64), true) + " s"
	}
	d = d.Round(time.Second)
	return strconv.Itoa(int(d/time.Minute)) + " min " + twoDigits(int(d%time.Minute/time.Second)) + " s"
}

func twoDigits(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

// countsFR summarises counts in French: "réussis 8 · échecs 2 · erreurs 1 · ...",
// "sans objet N" last and only when some check did not apply.
func countsFR(c checks.Counts) string {
	s := "réussis " + strconv.Itoa(c.Pass) + " · échecs " + strconv.Itoa(c.Fail) +
		" · erreurs " + strconv.Itoa(c.Error) + " · ignorés " + strconv.Itoa(c.Skip) +
		" · jury " + strconv.Itoa(c.Jury)
	if c.NA > 0 {
		s += " · sans objet " + strconv.Itoa(c.NA)
	}
	return s
}

// resultPoints is a result's "points/max", or "—" for a check that does not
// apply to the candidate (its points count nowhere).
// A criterion left to the jury is "à noter sur N": no machine zero.
func resultPoints(res checks.Result) string {
	switch res.Status {
	case checks.StatusNA:
		return "—"
	case checks.StatusJury:
		if res.JuryMark != nil {
			return frRatio(res.JuryMark.Points, res.MaxPoints) + " (jury)"
		}
		if res.MaxPoints > 0 {
			return "à noter sur " + formatPoints(res.MaxPoints, true)
		}
		return "à noter"
	}
	return frRatio(res.Points, res.MaxPoints)
}

// faultNames lists the incidents' names, separated by sep.
func faultNames(fs []checks.Fault, sep string) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.Name
	}
	return strings.Join(names, sep)
}

// anyFaults reports whether some candidate's drawn incidents are known.
func anyFaults(r *checks.Report) bool {
	for _, c := range r.Candidates {
		if len(c.Faults) > 0 {
			return true
		}
	}
	return false
}

// safeText makes untrusted text (messages, evidence from command output) harmless on
// a terminal: control characters other than newline and tab are shown escaped
// (\x1b, \u009b) instead of being interpreted.
func safeText(s string) string {
	if !strings.ContainsFunc(s, isUnsafeControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if isUnsafeControl(r) {
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isUnsafeControl(r rune) bool {
	return r != '\n' && r != '\t' && (unicode.IsControl(r) || r == '\u2028' || r == '\u2029')
}

// cleanResult returns a copy of res with safeText applied to every free-text field,
// for formats that must not carry raw control characters (HTML, XML).
func cleanResult(res checks.Result) checks.Result {
	res.CheckID = safeText(res.CheckID)
	res.Title = safeText(res.Title)
	res.Competence = safeText(res.Competence)
	res.Machine = safeText(res.Machine)
	res.Probe = safeText(res.Probe)
	res.Message = safeText(res.Message)
	res.Evidence = safeText(res.Evidence)
	if res.Expectations != nil {
		exps := make([]checks.Expectation, len(res.Expectations))
		for i, e := range res.Expectations {
			e.Field, e.Actual = safeText(e.Field), safeText(e.Actual)
			e.Expected, e.Message = safeText(e.Expected), safeText(e.Message)
			exps[i] = e
		}
		res.Expectations = exps
	}
	return res
}

// oneLine folds text onto one line (newlines shown as ⏎) for list items.
func oneLine(s string) string {
	s = strings.TrimRight(s, "\r\n")
	return strings.NewReplacer("\r\n", " ⏎ ", "\n", " ⏎ ", "\r", " ⏎ ").Replace(s)
}
