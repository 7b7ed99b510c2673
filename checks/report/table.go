package report

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/tailab/tailab/checks"
)

// Table renders the report as terminal text, in French: first one line per
// candidate in roster order (number, name, total, each competence the subject
// assesses, coloured by band), then, with Details (or Verbose), per candidate:
// the incidents drawn for them (when known), the score on each competence and
// CCP, then the checks to review (failed, in error, skipped, left to the jury)
// with their message and the expectations that explain them. Checks that do
// not apply to the candidate (sans objet) are listed only when Verbose.
type Table struct {
	Opts Options
}

var _ Formatter = (*Table)(nil)

// Name returns "table".
func (*Table) Name() string { return "table" }

// ANSI styles used when Options.Color is set.
const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiDim    = "\x1b[2m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
)

// Format writes the table to w.
func (t *Table) Format(w io.Writer, rep *checks.Report) error {
	r, err := sorted(rep)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	p := &tablePrinter{w: bw, opts: t.Opts}
	p.header(r)
	if len(r.Candidates) == 0 {
		p.line()
		p.line("Aucun candidat noté.")
	}
	p.summary(r)
	if t.Opts.Details || t.Opts.Verbose {
		for i := range r.Candidates {
			if len(t.Opts.DetailsOf) == 0 || slices.Contains(t.Opts.DetailsOf, r.Candidates[i].ID) {
				p.candidate(&r.Candidates[i])
			}
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("report table: %w", err)
	}
	return nil
}

type tablePrinter struct {
	w    *bufio.Writer
	opts Options
}

func (p *tablePrinter) line(parts ...string) {
	for _, s := range parts {
		p.w.WriteString(s)
	}
	p.w.WriteByte('\n')
}

// style wraps s in an ANSI style when colours are on.
func (p *tablePrinter) style(code, s string) string {
	if !p.opts.Color || code == "" || s == "" {
		return s
	}
	return code + s + ansiReset
}

func (p *tablePrinter) header(r *checks.Report) {
	p.line(p.style(ansiBold, "Session "+safeText(r.Session)),
		"  ·  lab "+safeText(r.Lab), "  ·  référentiel "+safeText(r.Referential))
	if !r.StartedAt.IsZero() || !r.FinishedAt.IsZero() {
		p.line("Correction du ", frTime(r.StartedAt, p.opts.loc()), " au ", frTime(r.FinishedAt, p.opts.loc()))
	}
}

// summary prints one line per candidate: number, name, total, then each
// assessed competence's percentage (or the short word for a jury-only or
// not-applicable one), coloured by band; the competences the subject does not
// assess are named once below.
func (p *tablePrinter) summary(r *checks.Report) {
	if len(r.Candidates) == 0 {
		return
	}
	assessed := sessionAssessed(r)
	comps, dropped := assessedColumns(competenceColumns(r), assessed)
	head := []string{"N°", "Nom", "Total"}
	for _, c := range comps {
		head = append(head, c.ID)
	}
	rows := make([][]string, 0, len(r.Candidates))
	colors := make([][]string, 0, len(r.Candidates))
	for i := range r.Candidates {
		c := &r.Candidates[i]
		pct := percentOf(c.Points, c.MaxPoints)
		name := fullName(c)
		if len(rebuildsAfterStart(r, c.ID)) > 0 {
			name += " " + InterventionMark
		}
		row := []string{c.ID, name, frPercent(pct)}
		col := []string{"", "", bandColor(band(pct, c.MaxPoints, false))}
		byComp := competenceByID(c)
		for _, cc := range comps {
			s, ok := byComp[cc.ID]
			switch {
			case !ok:
				row, col = append(row, "—"), append(col, "")
			case competenceAssessment(s) == assessJury:
				row, col = append(row, "jury"), append(col, ansiCyan)
			case competenceAssessment(s) != assessScored:
				row, col = append(row, "s.o."), append(col, ansiDim)
			default:
				cell := frPercent(s.Percent)
				if s.Capped {
					cell += "*"
				}
				row, col = append(row, cell), append(col, bandColor(band(s.Percent, s.MaxPoints, s.Capped)))
			}
		}
		rows, colors = append(rows, row), append(colors, col)
	}
	// A last column only when some grade is incomplete (checks in error).
	for i := range r.Candidates {
		if r.Candidates[i].Counts.Error == 0 {
			continue
		}
		head = append(head, "")
		for j := range rows {
			note := ""
			if n := r.Candidates[j].Counts.Error; n > 0 {
				note = plural(n, "erreur", "erreurs") + " : note incomplète"
			}
			rows[j], colors[j] = append(rows[j], note), append(colors[j], ansiYellow)
		}
		break
	}
	p.line()
	widths := make([]int, len(head))
	for _, row := range append([][]string{head}, rows...) {
		for i, cell := range row {
			widths[i] = max(widths[i], utf8.RuneCountInString(safeText(cell)))
		}
	}
	render := func(row, col []string) {
		var cells []string
		for i, cell := range row {
			cell = safeText(cell)
			pad := strings.Repeat(" ", max(0, widths[i]-utf8.RuneCountInString(cell)))
			color := ""
			if col != nil {
				color = col[i]
			}
			if i < 2 {
				cells = append(cells, p.style(color, cell)+pad)
			} else {
				cells = append(cells, pad+p.style(color, cell))
			}
		}
		p.line(strings.TrimRight("  "+strings.Join(cells, "  "), " "))
	}
	render(head, nil)
	for i := range rows {
		render(rows[i], colors[i])
	}
	var notes []string
	for _, row := range rows {
		if slices.ContainsFunc(row, func(cell string) bool { return strings.HasSuffix(cell, "%*") }) {
			notes = append(notes, "* plafonnée (vérification critique échouée)")
			break
		}
	}
	if len(dropped) > 0 {
		notes = append(notes, WordNotAssessed+" : "+strings.Join(columnIDs(dropped), ", "))
	}
	p.line()
	p.line("  ", strings.Join(append(notes, "détails : --details"), " ; "), ".")
	p.interventions(r)
}

// InterventionMark flags, in the grid, a candidate whose machines were
// rebuilt, reverted, restarted or re-created after the exam opened.
const InterventionMark = "⚑"

// interventions lists, under the grid, what was done to the marked
// candidates' machines after the exam opened: when, by whom, which command,
// and what became of each fault.
func (p *tablePrinter) interventions(r *checks.Report) {
	first := true
	for i := range r.Candidates {
		c := &r.Candidates[i]
		for _, in := range rebuildsAfterStart(r, c.ID) {
			if first {
				p.line()
				p.line("  ", InterventionMark, " Interventions sur les machines après l'ouverture de l'épreuve :")
				first = false
			}
			what := interventionAction(in.Action)
			if in.Machine != "" {
				what += " (" + in.Machine + ")"
			}
			if d := interventionDetail(in, p.opts.loc()); d != "" {
				what += " : " + d
			}
			p.line("    ", safeText(c.ID), " ", frTime(in.Time, p.opts.loc()), ", ", safeText(in.User), " — ", safeText(what))
		}
	}
}

// plural writes a count with its noun: "1 erreur", "2 erreurs".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func (p *tablePrinter) candidate(c *checks.CandidateReport) {
	p.line()
	title := "Candidat " + safeText(c.ID)
	if n := fullName(c); n != "" {
		title += " — " + safeText(n)
	}
	p.line(p.style(ansiBold, title))
	pct := percentOf(c.Points, c.MaxPoints)
	p.line("  Total : ", p.style(bandColor(band(pct, c.MaxPoints, false)),
		frRatio(c.Points, c.MaxPoints)+" ("+frPercent(pct)+")"), "   ", countsFR(c.Counts))
	if len(c.Faults) > 0 {
		p.line("  Incidents tirés :")
		for _, f := range c.Faults {
			line := "    - " + safeText(f.Name)
			if f.Title != "" {
				line += " : " + safeText(oneLine(f.Title))
			}
			p.line(line)
		}
	}

	if len(c.Competences) > 0 {
		rows := make([][]string, 0, len(c.Competences))
		colors := make([]string, 0, len(c.Competences))
		for i := range c.Competences {
			s := &c.Competences[i]
			mark := ""
			if s.Capped {
				mark = "plafonnée"
			}
			if a := competenceAssessment(s); a != assessScored {
				rows = append(rows, []string{s.ID, "", "", "", s.Title + " — " + a.word()})
				colors = append(colors, "")
				continue
			}
			rows = append(rows, []string{s.ID, frRatio(s.Points, s.MaxPoints), frPercent(s.Percent), mark, s.Title})
			colors = append(colors, bandColor(band(s.Percent, s.MaxPoints, s.Capped)))
		}
		p.line()
		p.grid([]string{"Compétence", "Points", "%", "Plafond", "Intitulé"}, rows, colors)
	}
	if len(c.CCPs) > 0 {
		rows := make([][]string, 0, len(c.CCPs))
		colors := make([]string, 0, len(c.CCPs))
		for i := range c.CCPs {
			s := &c.CCPs[i]
			if a := ccpAssessment(c, s.ID); a != assessScored {
				rows = append(rows, []string{s.ID, "", "", "", s.Title + " — " + a.word()})
				colors = append(colors, "")
				continue
			}
			rows = append(rows, []string{s.ID, frRatio(s.Points, s.MaxPoints), frPercent(s.Percent), "", s.Title})
			colors = append(colors, bandColor(band(s.Percent, s.MaxPoints, false)))
		}
		p.line()
		p.grid([]string{"CCP", "Points", "%", "Plafond", "Intitulé"}, rows, colors)
	}
	p.results(c)
}

// grid prints aligned columns (widths in runes, so accents do not shift them):
// ID, points and percent (right-aligned, percent in the row's colour), the capped
// marker (red) and the title. An all-empty column takes no room.
func (p *tablePrinter) grid(head []string, rows [][]string, colors []string) {
	widths := make([]int, len(head))
	for _, row := range rows {
		for i, cell := range row {
			widths[i] = max(widths[i], utf8.RuneCountInString(safeText(cell)))
		}
	}
	if widths[3] > 0 {
		widths[3] = max(widths[3], utf8.RuneCountInString(head[3]))
	}
	for i := range head {
		if i != 3 {
			widths[i] = max(widths[i], utf8.RuneCountInString(head[i]))
		}
	}
	render := func(row []string, color string, isHead bool) {
		var cells []string
		for i, cell := range row {
			if widths[i] == 0 {
				continue
			}
			cell = safeText(cell)
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(cell))
			switch {
			case i == len(row)-1:
				cells = append(cells, cell)
			case i == 1:
				cells = append(cells, pad+cell)
			case i == 2 && !isHead:
				cells = append(cells, pad+p.style(color, cell))
			case i == 2:
				cells = append(cells, pad+cell)
			case i == 3 && !isHead:
				cells = append(cells, p.style(ansiRed, cell)+pad)
			default:
				cells = append(cells, cell+pad)
			}
		}
		p.line(strings.TrimRight("  "+strings.Join(cells, "  "), " "))
	}
	render(head, "", true)
	for i, row := range rows {
		render(row, colors[i], false)
	}
}

func bandColor(b string) string {
	switch b {
	case bandHigh:
		return ansiGreen
	case bandMid:
		return ansiYellow
	case bandLow:
		return ansiRed
	default:
		return ""
	}
}

// statusMark is the one-character sign and colour of a status.
func statusMark(s checks.Status) (string, string) {
	switch s {
	case checks.StatusPass:
		return "✓", ansiGreen
	case checks.StatusFail:
		return "✗", ansiRed
	case checks.StatusError:
		return "!", ansiYellow
	case checks.StatusSkip:
		return "-", ansiDim
	case checks.StatusJury:
		return "?", ansiCyan
	case checks.StatusNA:
		return "∅", ansiDim
	default:
		return "·", ""
	}
}

// results lists the checks to review (every check when Verbose).
func (p *tablePrinter) results(c *checks.CandidateReport) {
	var list []*checks.Result
	for i := range c.Results {
		if st := c.Results[i].Status; p.opts.Verbose || (st != checks.StatusPass && st != checks.StatusNA) || c.Results[i].Override != nil {
			list = append(list, &c.Results[i])
		}
	}
	p.line()
	switch {
	case len(list) == 0 && len(c.Results) == 0:
		p.line("  Aucune vérification.")
		return
	case len(list) == 0 && c.Counts.NA > 0:
		p.line("  Toutes les vérifications qui le concernent sont réussies.")
		return
	case len(list) == 0:
		p.line("  Toutes les vérifications sont réussies.")
		return
	case p.opts.Verbose:
		p.line("  Vérifications :")
	default:
		p.line("  À revoir :")
	}
	for _, res := range list {
		p.result(res)
	}
}

func (p *tablePrinter) result(res *checks.Result) {
	mark, color := statusMark(res.Status)
	where := strings.Join(nonEmpty(res.Machine, res.Probe), ", ")
	if where != "" {
		where = "  (" + safeText(where) + ")"
	}
	critical := ""
	if res.Critical {
		critical = p.style(ansiRed, "  [critique]")
	}
	p.line("  ", p.style(color, fmt.Sprintf("%s %-7s", mark, statusLabel(res.Status))), "  ",
		safeText(res.Competence), "  ", p.style(ansiBold, safeText(res.CheckID)), "  ",
		resultPoints(*res), critical, where)
	if res.Title != "" {
		p.line("      ", safeText(oneLine(res.Title)))
	}
	if res.Message != "" {
		p.line("      → ", safeText(oneLine(res.Message)))
	}
	if n := juryNote(*res, p.opts.loc()); n != "" {
		p.line("      ", p.style(ansiCyan, "jury : "+oneLine(n)))
	}
	for _, e := range res.Expectations {
		if e.OK && !p.opts.Verbose {
			continue
		}
		sign := p.style(ansiRed, "✗")
		if e.OK {
			sign = p.style(ansiGreen, "✓")
		}
		text := fmt.Sprintf("%s : obtenu %q, attendu %q", e.Field, e.Actual, e.Expected)
		if e.Message != "" {
			text += " — " + oneLine(e.Message)
		}
		p.line("      ", sign, " ", safeText(text))
	}
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
