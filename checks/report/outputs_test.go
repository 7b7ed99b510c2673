package report

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseOutputs(t *testing.T) {
	reg, err := NewRegistry(Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tests := []struct {
		specs []string
		out   string
		want  string // "format:path ..." or the error
	}{
		{nil, "", "table:"},
		{[]string{"json"}, "r.json", "json:r.json"},
		{[]string{"table", "json=a.json", "csv=b.csv"}, "", "table: json:a.json csv:b.csv"},
		{[]string{"table", "json"}, "", "only one output may go to the standard output"},
		{[]string{"json=a", "csv=a"}, "", "two outputs write to a"},
		{[]string{"table", "json=a"}, "x", "--out goes with a single -o"},
		{[]string{"docx=a"}, "", `unknown report format "docx"`},
	}
	for _, tt := range tests {
		outs, err := reg.ParseOutputs(tt.specs, tt.out)
		got := ""
		if err != nil {
			got = err.Error()
		}
		for _, o := range outs {
			got = strings.TrimSpace(got + " " + o.Formatter.Name() + ":" + o.Path)
		}
		if !strings.Contains(got, tt.want) {
			t.Errorf("%v --out %q: %q, want %q", tt.specs, tt.out, got, tt.want)
		}
	}
	// One report, three renderings.
	outs, err := reg.ParseOutputs([]string{"table", "json=" + filepath.Join(dir, "r.json"), "csv=" + filepath.Join(dir, "r.csv")}, "")
	if err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	if err := WriteAll(outs, &stdout, fixture()); err != nil {
		t.Fatal(err)
	}
	js, _ := os.ReadFile(filepath.Join(dir, "r.json"))
	cs, _ := os.ReadFile(filepath.Join(dir, "r.csv"))
	if !strings.Contains(stdout.String(), "LEFÈVRE Zoé") || !bytes.Contains(js, []byte(`"schema_version"`)) || !bytes.Contains(cs, []byte("Candidat")) {
		t.Errorf("outputs not all written: table %d bytes, json %d, csv %d", stdout.Len(), len(js), len(cs))
	}
}

func TestCSVDialect(t *testing.T) {
	fr, err := Options{}.CSVDialect("excel-fr")
	if err != nil || fr.Separator != ';' || !fr.DecimalComma || !fr.BOM {
		t.Errorf("excel-fr = %+v, %v", fr, err)
	}
	us, err := fr.CSVDialect("rfc4180")
	if err != nil || us.Separator != ',' || us.DecimalComma || us.BOM {
		t.Errorf("rfc4180 = %+v, %v", us, err)
	}
	if _, err := fr.CSVDialect("excel"); err == nil {
		t.Error("unknown dialect accepted")
	}
}
