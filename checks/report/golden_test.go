package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/tailab/tailab/checks"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// goldenCases are the formatter configurations pinned by golden files.
var goldenCases = []struct {
	file      string
	format    string
	opts      Options
	colorless bool // output must hold no ANSI escape at all
}{
	{"table.golden", "table", Options{}, true},
	{"table-details.golden", "table", Options{Details: true}, true},
	{"table-verbose.golden", "table", Options{Verbose: true}, true},
	{"table-color.golden", "table", Options{Color: true, Details: true}, false},
	{"json.golden", "json", Options{}, true},
	{"csv.golden", "csv", Options{}, true},
	{"csv-excel-fr.golden", "csv", Options{}.ExcelFR(), true},
	{"junit.golden", "junit", Options{}, true},
	{"html.golden", "html", Options{}, true},
}

func render(t *testing.T, name string, opts Options, r *checks.Report) []byte {
	t.Helper()
	reg, err := NewRegistry(opts)
	if err != nil {
		t.Fatal(err)
	}
	f, err := reg.Get(name)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := f.Format(&buf, r); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return buf.Bytes()
}

func checkGolden(t *testing.T, file string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", file)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./checks/report -update to accept):\n%s",
			file, firstDiff(got, want))
	}
}

// firstDiff shows where two outputs start to differ.
func firstDiff(got, want []byte) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	lo := max(0, i-80)
	return "at byte " + strconv.Itoa(i) + "\n got: …" + string(got[lo:min(len(got), i+80)]) +
		"\nwant: …" + string(want[lo:min(len(want), i+80)])
}

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.file, func(t *testing.T) {
			got := render(t, tc.format, tc.opts, fixture())
			checkGolden(t, tc.file, got)
			if tc.colorless && bytes.ContainsRune(got, 0x1b) {
				t.Errorf("output holds a raw ESC character (terminal injection)")
			}
		})
	}
}

// TestGoldenEmpty pins the output for a session with no candidate.
func TestGoldenEmpty(t *testing.T) {
	empty := &checks.Report{Session: "vide", Lab: "tai-ad-tpe", Referential: "tai-2018"}
	for _, name := range []string{"table", "json", "csv", "junit", "html"} {
		t.Run(name, func(t *testing.T) {
			checkGolden(t, "empty-"+name+".golden", render(t, name, Options{}, empty))
		})
	}
}
