package report

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/tailab/tailab/internal/testenv"
)

// TestCSVOpensInCalcFrench: the CSV for French Excel (the default dialect)
// opens as columns in LibreOffice Calc in a French locale (real soffice,
// headless, the CSV filter with ';' and the fr-FR language, as the import
// dialog of a French Calc proposes), converted to xlsx and read back with
// excelize: every competence, CCP and total in its own numeric cell, the
// names with their accents.
func TestCSVOpensInCalcFrench(t *testing.T) {
	soffice, err := exec.LookPath("soffice")
	if err != nil {
		testenv.Unavailable(t, "soffice not installed (apt-get install libreoffice-calc-nogui)")
	}
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "notes.csv")
	if err := os.WriteFile(csvPath, render(t, "csv", Options{}.ExcelFR(), fixture()), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, soffice, "--headless", "--norestore", "-env:UserInstallation=file://"+filepath.Join(dir, "profile"),
		"--infilter=CSV:59,34,76,1,,1036", "--convert-to", "xlsx", "--outdir", dir, csvPath)
	cmd.Env = append(os.Environ(), "HOME="+dir, "LANG=fr_FR.UTF-8", "LC_ALL=fr_FR.UTF-8")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("soffice: %v\n%s", err, out)
	}
	f, err := excelize.OpenFile(filepath.Join(dir, "notes.xlsx"))
	if err != nil {
		t.Fatalf("Calc's workbook: %v", err)
	}
	defer f.Close()
	sheet := f.GetSheetList()[0]
	rows, err := f.GetRows(sheet)
	if err != nil {
		t.Fatal(err)
	}
	head := rows[0]
	if len(head) < 10 || head[0] != "Candidat" || head[3] != "C1.1 (%)" {
		t.Fatalf("not split into columns: %q", head)
	}
	col := func(name string) int {
		for i, h := range head {
			if h == name {
				return i
			}
		}
		t.Fatalf("no column %q in %q", name, head)
		return -1
	}
	cell := func(row, c int) (string, excelize.CellType) {
		ref, _ := excelize.CoordinatesToCellName(c+1, row+1)
		v, _ := f.GetCellValue(sheet, ref, excelize.Options{RawCellValue: true})
		typ, _ := f.GetCellType(sheet, ref)
		return v, typ
	}
	// cand-2 (second data row, roster order): C2.2 40,0 %, CCP2 67,6 %, total 59,5 %.
	for _, tc := range []struct {
		col  string
		want float64
	}{{"C2.2 (%)", 40}, {"C2.3 (%)", 100}, {"CCP2 (%)", 67.6}, {"Points", 12.5}, {"Total (%)", 59.5}} {
		v, typ := cell(2, col(tc.col))
		got, err := strconv.ParseFloat(v, 64)
		if err != nil || got != tc.want || typ == excelize.CellTypeSharedString || typ == excelize.CellTypeInlineString {
			t.Errorf("%s of cand-2: %q (type %v), want the number %g", tc.col, v, typ, tc.want)
		}
	}
	if v, _ := cell(2, col("Nom")); v != "Lefèvre" {
		t.Errorf("name %q: accents lost (BOM not read?)", v)
	}
	if v, _ := cell(1, col("C3.1 (%)")); !strings.Contains(v, WordJury) {
		t.Errorf("jury-only competence reads %q, want %q", v, WordJury)
	}
}
