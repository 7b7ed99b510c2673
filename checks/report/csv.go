package report

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/tailab/tailab/checks"
)

// CSV renders the jury grid: one row per candidate, one column per competence
// holding the candidate's percentage on it, then one per CCP, then the totals.
// Percentages (not "points/max") so the cells are numbers a spreadsheet can sort,
// average and chart; the points stay in the totals and in the other formats.
//
// Columns, in this order (headers are French, the jury reads them):
//
//	Candidat, Nom, Prénom, <competence ID> (%)..., <CCP ID> (%)..., Points, Max,
//	Total (%), Plafonnées, Erreurs, Points du jury[, Incidents][, Non évaluées dans ce sujet]
//
// Only the competences and CCPs the subject assesses have a column (a number
// each, so a spreadsheet sorts and averages them); the others are listed in
// the last column, "Non évaluées dans ce sujet". A competence the candidate was
// not graded on is an empty cell; one with nothing scored automatically reads
// WordJury ("évaluée par le jury") or WordNotApplicable, never a 0.
// "Plafonnées" lists the capped competence IDs separated by spaces, "Erreurs"
// counts checks in error (infrastructure: the grade is incomplete), "Points du
// jury" adds the points the jury gave (tailab jury set), empty while it marked
// nothing: a blank to fill, never a 0 that reads like a mark. "Incidents", present when the incidents drawn for
// some candidate are known, lists the names of the candidate's (space-separated):
// their Max counts only the checks of those incidents.
//
// The output follows RFC 4180 (CRLF line ends, quotes doubled) with the separator,
// BOM and decimal comma of Options. Text cells starting with = + - @ or a tab get a
// leading apostrophe so a spreadsheet never runs them as formulas.
type CSV struct {
	Opts Options
}

var _ Formatter = (*CSV)(nil)

// Name returns "csv".
func (*CSV) Name() string { return "csv" }

// utf8BOM is the UTF-8 byte-order mark Excel needs to read the file as UTF-8.
const utf8BOM = "\uFEFF"

// Format writes the grid to w.
func (f *CSV) Format(w io.Writer, rep *checks.Report) error {
	if err := f.Opts.Validate(); err != nil {
		return err
	}
	r, err := sorted(rep)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	if f.Opts.BOM {
		bw.WriteString(utf8BOM)
	}
	cw := csv.NewWriter(bw)
	cw.UseCRLF = true
	if f.Opts.Separator != 0 {
		cw.Comma = f.Opts.Separator
	}
	assessed := sessionAssessed(r)
	comps, dropped := assessedColumns(competenceColumns(r), assessed)
	ccps, droppedCCPs := assessedColumns(ccpColumns(r), assessed)
	notAssessed := strings.Join(append(columnIDs(dropped), columnIDs(droppedCCPs)...), " ")

	head := []string{"Candidat", "Nom", "Prénom"}
	for _, c := range comps {
		head = append(head, c.ID+" (%)")
	}
	for _, c := range ccps {
		head = append(head, c.ID+" (%)")
	}
	head = append(head, "Points", "Max", "Total (%)", "Plafonnées", "Erreurs", "Points du jury")
	withFaults := anyFaults(r)
	if withFaults {
		head = append(head, "Incidents")
	}
	if notAssessed != "" {
		head = append(head, "Non évaluées dans ce sujet")
	}
	cw.Write(sanitizeRow(head))

	comma := f.Opts.DecimalComma
	for i := range r.Candidates {
		c := &r.Candidates[i]
		row := sanitizeRow([]string{c.ID, c.LastName, c.FirstName})
		byComp, byCCP := competenceByID(c), ccpByID(c)
		var capped []string
		for _, col := range comps {
			s, ok := byComp[col.ID]
			if !ok {
				row = append(row, "")
				continue
			}
			if a := competenceAssessment(s); a != assessScored {
				row = append(row, a.word())
				continue
			}
			row = append(row, formatPercent(s.Percent, comma))
			if s.Capped {
				capped = append(capped, s.ID)
			}
		}
		for _, col := range ccps {
			if s, ok := byCCP[col.ID]; ok {
				if a := ccpAssessment(c, s.ID); a != assessScored {
					row = append(row, a.word())
				} else {
					row = append(row, formatPercent(s.Percent, comma))
				}
			} else {
				row = append(row, "")
			}
		}
		row = append(row,
			formatPoints(c.Points, comma),
			formatPoints(c.MaxPoints, comma),
			formatPercent(percentOf(c.Points, c.MaxPoints), comma),
			sanitizeCell(strings.Join(capped, " ")),
			strconv.Itoa(c.Counts.Error),
			juryPointsText(c, comma),
		)
		if withFaults {
			row = append(row, sanitizeCell(faultNames(c.Faults, " ")))
		}
		if notAssessed != "" {
			row = append(row, notAssessed)
		}
		cw.Write(row)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("report csv: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("report csv: %w", err)
	}
	return nil
}

func sanitizeRow(row []string) []string {
	for i := range row {
		row[i] = sanitizeCell(row[i])
	}
	return row
}

// sanitizeCell defuses spreadsheet formula injection in a text cell (OWASP "CSV
// injection"): a leading = + - @ tab or CR makes Excel or LibreOffice evaluate it.
func sanitizeCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// juryPointsText is the points the jury gave a candidate (its marks), "" while
// it marked nothing.
func juryPointsText(c *checks.CandidateReport, comma bool) string {
	sum, marked := 0.0, false
	for _, res := range c.Results {
		if res.JuryMark != nil {
			sum, marked = sum+res.JuryMark.Points, true
		}
	}
	if !marked {
		return ""
	}
	return formatPoints(sum, comma)
}
