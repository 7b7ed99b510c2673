package report

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/tailab/tailab/checks"
)

// XLSX renders the session as an Excel workbook for the centre: a
// "Synthèse" sheet (one row per candidate in roster order: number, name, each
// competence and CCP the subject assesses as a number, the totals), then one
// sheet per CCP the subject assesses with its competences' points and the
// jury's columns to fill in (points of the jury's criteria, decision,
// observations). Numbers are numbers (percentages with one decimal, points),
// so the centre sorts and averages them; a competence with no number says why
// in the words of every format (WordJury, WordNotApplicable).
type XLSX struct {
	Opts Options
}

var _ Formatter = (*XLSX)(nil)

// Name returns "xlsx".
func (*XLSX) Name() string { return "xlsx" }

// SummarySheet is the name of the workbook's first sheet.
const SummarySheet = "Synthèse"

// Format writes the workbook to w.
func (x *XLSX) Format(w io.Writer, rep *checks.Report) error {
	r, err := sorted(rep)
	if err != nil {
		return err
	}
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", SummarySheet); err != nil {
		return fmt.Errorf("report xlsx: %w", err)
	}
	xw := &xlsxWriter{f: f}
	head, _ := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Fill: excelize.Fill{Type: "pattern", Color: []string{"ECEFF1"}, Pattern: 1}})
	xw.head = head

	assessed := sessionAssessed(r)
	comps, dropped := assessedColumns(competenceColumns(r), assessed)
	ccps, droppedCCPs := assessedColumns(ccpColumns(r), assessed)

	// Synthèse.
	xw.row(SummarySheet, 1, []any{"Session " + r.Session + " — lab " + r.Lab + " — référentiel " + r.Referential +
		" — correction du " + frTime(r.FinishedAt, x.Opts.loc())}, 0)
	header := []any{"N°", "Nom", "Prénom"}
	for _, c := range comps {
		header = append(header, c.ID+" (%)")
	}
	for _, c := range ccps {
		header = append(header, c.ID+" (%)")
	}
	header = append(header, "Points", "Max", "Total (%)", "Erreurs")
	xw.row(SummarySheet, 3, header, xw.head)
	for i := range r.Candidates {
		c := &r.Candidates[i]
		row := []any{c.ID, c.LastName, c.FirstName}
		byComp, byCCP := competenceByID(c), ccpByID(c)
		for _, col := range comps {
			row = append(row, competenceValue(byComp[col.ID]))
		}
		for _, col := range ccps {
			row = append(row, ccpValue(c, byCCP[col.ID]))
		}
		row = append(row, round2(c.Points), round2(c.MaxPoints), round1(percentOf(c.Points, c.MaxPoints)), c.Counts.Error)
		xw.row(SummarySheet, 4+i, row, 0)
	}
	if len(dropped)+len(droppedCCPs) > 0 {
		ids := append(columnIDs(dropped), columnIDs(droppedCCPs)...)
		xw.row(SummarySheet, 5+len(r.Candidates), []any{WordNotAssessed + " : " + joinIDs(ids)}, 0)
	}
	xw.widths(SummarySheet, len(header))

	// One sheet per assessed CCP, with the jury's columns.
	for _, ccp := range ccps {
		sheet := ccp.ID
		if _, err := f.NewSheet(sheet); err != nil {
			return fmt.Errorf("report xlsx: %w", err)
		}
		xw.row(sheet, 1, []any{ccp.ID + " — " + ccp.Title}, xw.head)
		var own []column
		for _, col := range comps {
			if ccpOf(r, col.ID) == ccp.ID {
				own = append(own, col)
			}
		}
		header := []any{"N°", "Nom", "Prénom"}
		for _, c := range own {
			header = append(header, c.ID+" points", c.ID+" max", c.ID+" (%)")
		}
		header = append(header, ccp.ID+" points", ccp.ID+" max", ccp.ID+" (%)",
			"Critères du jury", "Points du jury", "Décision (acquis / non acquis)", "Observations")
		xw.row(sheet, 3, header, xw.head)
		for i := range r.Candidates {
			c := &r.Candidates[i]
			row := []any{c.ID, c.LastName, c.FirstName}
			byComp := competenceByID(c)
			var juryItems []string
			var juryPoints any = "" // filled once the jury marked (tailab jury set)
			for _, col := range own {
				s := byComp[col.ID]
				if s != nil && s.JuryPoints > 0 {
					p, _ := juryPoints.(float64)
					juryPoints = round2(p + s.JuryPoints)
				}
				if s == nil || competenceAssessment(s) != assessScored {
					row = append(row, "", "", competenceValue(s))
				} else {
					row = append(row, round2(s.Points), round2(s.MaxPoints), round1(s.Percent))
				}
				if s != nil {
					juryItems = append(juryItems, s.JuryItems...)
				}
			}
			s := ccpByID(c)[ccp.ID]
			if s == nil || ccpAssessment(c, ccp.ID) != assessScored {
				row = append(row, "", "", ccpValue(c, s))
			} else {
				row = append(row, round2(s.Points), round2(s.MaxPoints), round1(s.Percent))
			}
			row = append(row, joinItems(juryItems), juryPoints, "", "")
			xw.row(sheet, 4+i, row, 0)
		}
		xw.widths(sheet, len(header))
	}
	if xw.err != nil {
		return fmt.Errorf("report xlsx: %w", xw.err)
	}
	if err := f.Write(w); err != nil {
		return fmt.Errorf("report xlsx: %w", err)
	}
	return nil
}

// xlsxWriter writes rows, keeping the first error.
type xlsxWriter struct {
	f    *excelize.File
	head int // the header rows' style
	err  error
}

func (xw *xlsxWriter) row(sheet string, n int, values []any, style int) {
	if xw.err != nil {
		return
	}
	cell, err := excelize.CoordinatesToCellName(1, n)
	if err == nil {
		err = xw.f.SetSheetRow(sheet, cell, &values)
	}
	if err == nil && style != 0 {
		end, _ := excelize.CoordinatesToCellName(len(values), n)
		err = xw.f.SetCellStyle(sheet, cell, end, style)
	}
	xw.err = err
}

// widths gives the name columns room; the others a fixed width.
func (xw *xlsxWriter) widths(sheet string, n int) {
	if xw.err != nil || n == 0 {
		return
	}
	last, _ := excelize.ColumnNumberToName(n)
	if err := xw.f.SetColWidth(sheet, "A", last, 12); err != nil {
		xw.err = err
		return
	}
	xw.err = xw.f.SetColWidth(sheet, "B", "C", 20)
}

// competenceValue is a competence's summary cell: its percentage as a number,
// the word saying why there is none, or empty when not graded.
func competenceValue(s *checks.CompetenceScore) any {
	if s == nil {
		return ""
	}
	if a := competenceAssessment(s); a != assessScored {
		return a.word()
	}
	return round1(s.Percent)
}

func ccpValue(c *checks.CandidateReport, s *checks.CCPScore) any {
	if s == nil {
		return ""
	}
	if a := ccpAssessment(c, s.ID); a != assessScored {
		return a.word()
	}
	return round1(s.Percent)
}

// ccpOf is the CCP of a competence, as the report's scores give it.
func ccpOf(r *checks.Report, comp string) string {
	for i := range r.Candidates {
		for _, s := range r.Candidates[i].Competences {
			if s.ID == comp {
				return s.CCP
			}
		}
	}
	return ""
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }
func round2(v float64) float64 { return math.Round(v*100) / 100 }

func joinIDs(ids []string) string  { return strings.Join(ids, ", ") }
func joinItems(xs []string) string { return strings.Join(xs, " ; ") }
