package report

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/tailab/tailab/checks"
)

// dumpWorkbook reads a workbook back with excelize: every sheet, every row,
// each cell with its type (n: number, s: text), for a golden file.
func dumpWorkbook(t *testing.T, data []byte) string {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("the workbook does not open: %v", err)
	}
	defer f.Close()
	var b strings.Builder
	for _, sheet := range f.GetSheetList() {
		fmt.Fprintf(&b, "== %s\n", sheet)
		rows, err := f.GetRows(sheet)
		if err != nil {
			t.Fatal(err)
		}
		for i, row := range rows {
			var cells []string
			for j, v := range row {
				name, _ := excelize.CoordinatesToCellName(j+1, i+1)
				typ, _ := f.GetCellType(sheet, name)
				kind := "s"
				if typ == excelize.CellTypeNumber || typ == excelize.CellTypeUnset && v != "" && isNumber(v) {
					kind = "n"
				}
				if v == "" {
					kind = "-"
				}
				cells = append(cells, kind+":"+v)
			}
			fmt.Fprintf(&b, "%d | %s\n", i+1, strings.Join(cells, " | "))
		}
	}
	return b.String()
}

func isNumber(s string) bool {
	var f float64
	_, err := fmt.Sscan(s, &f)
	return err == nil
}

func TestXLSXGolden(t *testing.T) {
	got := dumpWorkbook(t, render(t, "xlsx", Options{}, fixture()))
	checkGolden(t, "xlsx.golden", []byte(got))
	for _, want := range []string{"== Synthèse", "== CCP2", "| n:88.2 |", "Décision (acquis / non acquis)", "s:" + WordJury} {
		if !strings.Contains(got, want) {
			t.Errorf("workbook lacks %q", want)
		}
	}
	checkGolden(t, "empty-xlsx.golden", []byte(dumpWorkbook(t, render(t, "xlsx", Options{}, &checks.Report{Session: "vide", Lab: "tai-ad-tpe", Referential: "tai-2018"}))))
}

// TestXLSXJuryPoints: once the jury marked a criterion, its points fill the
// CCP sheet's "Points du jury" column (a number) and count in the totals.
func TestXLSXJuryPoints(t *testing.T) {
	r := fixture()
	var c *checks.CandidateReport
	for i := range r.Candidates {
		if r.Candidates[i].ID == "cand-1" {
			c = &r.Candidates[i]
		}
	}
	for i := range c.Competences {
		if c.Competences[i].ID == "C3.1" {
			c.Competences[i].JuryPoints, c.Competences[i].Points, c.Competences[i].MaxPoints, c.Competences[i].Percent = 1.5, 1.5, 2, 75
		}
	}
	got := dumpWorkbook(t, render(t, "xlsx", Options{}, r))
	sheet := got[strings.Index(got, "== CCP3"):]
	if !strings.Contains(sheet, "4 | s:cand-1") || !strings.Contains(sheet, "| n:1.5 | n:2 | n:75 |") || !strings.Contains(sheet, "Devis clair et chiffré | n:1.5") {
		t.Errorf("CCP3 sheet:\n%s", sheet)
	}
}
