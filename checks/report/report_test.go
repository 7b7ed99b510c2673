package report

import (
	"bytes"
	"encoding/csv"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/internal/secret"
	"github.com/tailab/tailab/internal/testenv"
)

var allFormats = []string{"csv", "html", "json", "junit", "table", "xlsx"}

func TestRegistry(t *testing.T) {
	reg, err := NewRegistry(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := reg.Names(); !slices.Equal(got, allFormats) {
		t.Errorf("Names() = %v, want %v", got, allFormats)
	}
	for _, name := range allFormats {
		f, err := reg.Get(name)
		if err != nil {
			t.Fatalf("Get(%q): %v", name, err)
		}
		if f.Name() != name {
			t.Errorf("Get(%q).Name() = %q", name, f.Name())
		}
		if ext := Extension(f); !strings.HasPrefix(ext, ".") || ext == ".out" {
			t.Errorf("Extension(%s) = %q", name, ext)
		}
	}
	_, err = reg.Get("pdf")
	if !errors.Is(err, ErrUnknownFormat) {
		t.Fatalf("Get(pdf) error = %v, want ErrUnknownFormat", err)
	}
	if want := `"pdf" (valid: csv, html, json, junit, table, xlsx)`; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not list the valid names (%s)", err, want)
	}
	reg.Register("md", func(Options) Formatter { return &JSON{} })
	if !slices.Contains(reg.Names(), "md") {
		t.Errorf("Register did not add md: %v", reg.Names())
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		sep rune
		ok  bool
	}{{0, true}, {',', true}, {';', true}, {'\t', true}, {'|', true}, {'"', false}, {'\n', false}, {'x', false}}
	for _, tt := range tests {
		_, err := NewRegistry(Options{Separator: tt.sep})
		if (err == nil) != tt.ok {
			t.Errorf("separator %q: err = %v, want ok=%v", tt.sep, err, tt.ok)
		}
		if err := (&CSV{Opts: Options{Separator: tt.sep}}).Format(io.Discard, fixture()); (err == nil) != tt.ok {
			t.Errorf("CSV.Format with separator %q: err = %v, want ok=%v", tt.sep, err, tt.ok)
		}
	}
}

func TestNilReport(t *testing.T) {
	for _, name := range allFormats {
		f, _ := mustRegistry(t, Options{}).Get(name)
		if err := f.Format(io.Discard, nil); err == nil {
			t.Errorf("%s: Format(nil) succeeded", name)
		}
	}
}

func mustRegistry(t *testing.T, o Options) *Registry {
	t.Helper()
	reg, err := NewRegistry(o)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// TestDeterministicAndPure: formatting never modifies the report, and the order of
// the input does not change a byte of the output.
func TestDeterministicAndPure(t *testing.T) {
	for _, name := range allFormats {
		t.Run(name, func(t *testing.T) {
			r := fixture()
			before := fixture()
			first := render(t, name, Options{Verbose: true}, r)
			if !reflect.DeepEqual(r, before) {
				t.Fatalf("Format modified the report")
			}
			shuffled := fixture()
			slices.Reverse(shuffled.Candidates)
			for i := range shuffled.Candidates {
				c := &shuffled.Candidates[i]
				slices.Reverse(c.Results)
				slices.Reverse(c.Competences)
				slices.Reverse(c.CCPs)
			}
			if second := render(t, name, Options{Verbose: true}, shuffled); !bytes.Equal(first, second) {
				t.Errorf("output depends on the input order:\n%s", firstDiff(second, first))
			}
		})
	}
}

// TestNoSecretIntroduced: formatters print only what the report holds. The lab's
// clear-text credentials (masked by the grader) and secrets in the environment never
// appear, and the masked evidence stays masked.
func TestNoSecretIntroduced(t *testing.T) {
	t.Setenv("TAILAB_ADMIN_PASSWORD", fixtureSecrets[0])
	t.Setenv("TFE_TOKEN", fixtureSecrets[2])
	var m secret.Masker
	m.Add(fixtureSecrets...)
	for _, opts := range []Options{{}, {Color: true, Verbose: true}, Options{}.ExcelFR()} {
		for _, name := range allFormats {
			out := string(render(t, name, opts, fixture()))
			if name == "xlsx" {
				out = dumpWorkbook(t, []byte(out)) // zipped XML: read it back
			}
			if m.Mask(out) != out {
				t.Errorf("%s: output holds a clear-text secret", name)
			}
			for _, s := range fixtureSecrets {
				if strings.Contains(out, s) {
					t.Errorf("%s: output holds %q", name, s)
				}
			}
			// Evidence is in html, json and junit: the mask must still be there.
			if name != "csv" && name != "table" && name != "xlsx" && !strings.Contains(out, "mdurand%"+secret.Mask) {
				t.Errorf("%s: masked evidence not shown as masked", name)
			}
		}
	}
}

func TestJSONRoundTrip(t *testing.T) {
	in := fixture()
	in.SchemaVersion = 0 // the formatter sets it
	out := render(t, "json", Options{}, in)
	got, err := Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	want, err := sorted(fixture())
	if err != nil {
		t.Fatal(err)
	}
	want.SchemaVersion = checks.ReportSchemaVersion
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded report differs from the sorted input")
	}
	// Formatting the decoded report again gives the same bytes.
	if again := render(t, "json", Options{}, got); !bytes.Equal(again, out) {
		t.Errorf("json is not stable across a round trip:\n%s", firstDiff(again, out))
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"not json", "<html>", "decode report"},
		{"no version", `{"session":"s"}`, "no schema_version"},
		{"newer version", `{"schema_version":99}`, "schema_version 99 not supported"},
		{"trailing data", `{"schema_version":1} {}`, "decode report"},
		{"wrong type", `{"schema_version":1,"candidates":{}}`, "decode report"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(strings.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Decode(%q) error = %v, want %q", tt.in, err, tt.want)
			}
		})
	}
	// Unknown fields are ignored: adding a field does not change the version.
	r, err := Decode(strings.NewReader(`{"schema_version":1,"session":"s","future":true}`))
	if err != nil || r.Session != "s" {
		t.Errorf("Decode with an unknown field: %v, %+v", err, r)
	}
}

func TestCSVReadsBack(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		sep  rune
	}{
		{"rfc4180", Options{}, ','},
		{"excel-fr", Options{}.ExcelFR(), ';'},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := render(t, "csv", tt.opts, fixture())
			hasBOM := bytes.HasPrefix(out, []byte(utf8BOM))
			if hasBOM != tt.opts.BOM {
				t.Errorf("BOM present = %v, want %v", hasBOM, tt.opts.BOM)
			}
			if !bytes.Contains(out, []byte("\r\n")) {
				t.Errorf("no CRLF line ends")
			}
			rd := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(out, []byte(utf8BOM))))
			rd.Comma = tt.sep
			rows, err := rd.ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 4 {
				t.Fatalf("%d rows, want header + 3 candidates", len(rows))
			}
			ids := []string{rows[1][0], rows[2][0], rows[3][0]}
			if !slices.Equal(ids, []string{"cand-1", "cand-2", "cand-10"}) {
				t.Errorf("candidate order = %v", ids)
			}
			col := slices.Index(rows[0], "C2.2 (%)")
			wantCapped := "40.0"
			if tt.opts.DecimalComma {
				wantCapped = "40,0"
			}
			if col < 0 || rows[2][col] != wantCapped {
				t.Errorf("cand-2 C2.2 = %q, want %q (header %v)", rows[2][col], wantCapped, rows[0])
			}
			if last := rows[2][slices.Index(rows[0], "Plafonnées")]; last != "C2.2" {
				t.Errorf("cand-2 capped = %q, want C2.2", last)
			}
		})
	}
}

func TestCSVFormulaInjection(t *testing.T) {
	r := fixture()
	r.Candidates[0].LastName = `=HYPERLINK("http://evil","clic")`
	r.Candidates[0].FirstName = "+33 6 12"
	out := string(render(t, "csv", Options{}, r))
	for _, bad := range []string{",=HYPERLINK", `,"=HYPERLINK`, ",+33"} {
		if strings.Contains(out, bad) {
			t.Errorf("CSV holds a live formula cell %q:\n%s", bad, out)
		}
	}
	if !strings.Contains(out, `'=HYPERLINK`) || !strings.Contains(out, "'+33 6 12") {
		t.Errorf("formula cells not defused:\n%s", out)
	}
}

func TestJUnitParses(t *testing.T) {
	out := render(t, "junit", Options{}, fixture())
	var doc junitSuites
	if err := xml.Unmarshal(out, &doc); err != nil {
		t.Fatalf("invalid XML: %v", err)
	}
	if doc.Tests != 23 || doc.Failures != 3 || doc.Errors != 1 || doc.Skipped != 4 {
		t.Errorf("totals tests=%d failures=%d errors=%d skipped=%d, want 23/3/1/4 (the n/a check is skipped)",
			doc.Tests, doc.Failures, doc.Errors, doc.Skipped)
	}
	if len(doc.Suites) != 3 {
		t.Fatalf("%d suites, want 3", len(doc.Suites))
	}
	for _, s := range doc.Suites {
		var f, e, sk int
		for _, c := range s.Cases {
			if c.Failure != nil {
				f++
			}
			if c.Error != nil {
				e++
			}
			if c.Skipped != nil {
				sk++
			}
		}
		if len(s.Cases) != s.Tests || f != s.Failures || e != s.Errors || sk != s.Skipped {
			t.Errorf("suite %q: attributes do not match its testcases", s.Name)
		}
	}
	if !strings.Contains(doc.Suites[1].Cases[2].SystemOut, `<script>alert("pwn")</script>`) {
		t.Errorf("evidence lost in system-out: %q", doc.Suites[1].Cases[2].SystemOut)
	}
}

func TestHTMLSafeAndSelfContained(t *testing.T) {
	out := string(render(t, "html", Options{}, fixture()))
	if strings.Contains(strings.ToLower(out), "<script") {
		t.Errorf("evidence <script> reached the page unescaped")
	}
	if !strings.Contains(out, "&lt;script&gt;alert(&#34;pwn&#34;)&lt;/script&gt; &amp; Cie") {
		t.Errorf("escaped evidence missing")
	}
	for _, external := range []string{"http://", "https://", "src=", "@import", "url(", "<link"} {
		if strings.Contains(out, external) {
			t.Errorf("page refers to an external resource (%q): it must work offline", external)
		}
	}
	for _, want := range []string{`<html lang="fr">`, `<meta charset="utf-8">`, "@page { size: A4", "break-before: page", "plafonnée", "Signature"} {
		if !strings.Contains(out, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestTableOptions(t *testing.T) {
	plain := string(render(t, "table", Options{}, fixture()))
	if strings.Contains(plain, "✓ réussi") {
		t.Errorf("passing checks listed without Verbose")
	}
	verbose := string(render(t, "table", Options{Verbose: true}, fixture()))
	if !strings.Contains(verbose, "✓ réussi") {
		t.Errorf("Verbose does not list passing checks")
	}
	if strings.Contains(plain, "À revoir") || !strings.Contains(string(render(t, "table", Options{Details: true}, fixture())), "À revoir") {
		t.Errorf("the checks to review are not for --details only")
	}
	color := string(render(t, "table", Options{Color: true, Details: true}, fixture()))
	if !strings.Contains(color, ansiRed+"plafonnée"+ansiReset) || !strings.Contains(color, ansiRed+"40,0 %*"+ansiReset) {
		t.Errorf("capped marker not red with Color")
	}
	// Roster order, whatever the report's order.
	if a, b, c := strings.Index(plain, "cand-1 "), strings.Index(plain, "cand-2 "), strings.Index(plain, "cand-10 "); a < 0 || a > b || b > c {
		t.Errorf("summary not in roster order:\n%s", plain)
	}
	if strings.Contains(color, "\x1b[2J") {
		t.Errorf("a terminal escape from a message reached the terminal")
	}
}

func TestTimeZone(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	out := string(render(t, "table", Options{Location: paris}, fixture()))
	if !strings.Contains(out, "12/06/2026 16:00:00 CEST") {
		t.Errorf("start time not shown in Paris time:\n%s", out[:200])
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "grille.html")
	if err := WriteFile(path, &HTML{}, fixture()); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, render(t, "html", Options{}, fixture())) {
		t.Errorf("file differs from Format's output")
	}
	// A failing formatter leaves the previous file in place and no temporary file.
	if err := WriteFile(path, &HTML{}, nil); err == nil {
		t.Fatal("WriteFile(nil report) succeeded")
	}
	if again, _ := os.ReadFile(path); !bytes.Equal(again, got) {
		t.Errorf("failed write changed the file")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("directory holds %d entries, want 1", len(entries))
	}
}

func TestNaturalCompare(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"C1.2", "C1.10", -1},
		{"C2.1", "C1.10", 1},
		{"cand-2", "cand-10", -1},
		{"cand-02", "cand-2", -1}, // equal numbers: plain order decides
		{"a", "a", 0},
		{"a", "ab", -1},
		{"CCP1", "C1.1", 1},
		{"x9", "x10", -1},
		{"", "a", -1},
	}
	for _, tt := range tests {
		if got := naturalCompare(tt.a, tt.b); got != tt.want {
			t.Errorf("naturalCompare(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := naturalCompare(tt.b, tt.a); got != -tt.want {
			t.Errorf("naturalCompare(%q, %q) = %d, want %d", tt.b, tt.a, got, -tt.want)
		}
	}
}

func TestNumbers(t *testing.T) {
	tests := []struct {
		v            float64
		comma        bool
		points, perc string
	}{
		{3, false, "3", "3.0"},
		{2.5, true, "2,5", "2,5"},
		{1.0 / 3, false, "0.33", "0.3"},
		{66.666, true, "66,67", "66,7"},
		{-0.001, false, "0", "0.0"},
		{100, false, "100", "100.0"},
	}
	for _, tt := range tests {
		if got := formatPoints(tt.v, tt.comma); got != tt.points {
			t.Errorf("formatPoints(%v, %v) = %q, want %q", tt.v, tt.comma, got, tt.points)
		}
		if got := formatPercent(tt.v, tt.comma); got != tt.perc {
			t.Errorf("formatPercent(%v, %v) = %q, want %q", tt.v, tt.comma, got, tt.perc)
		}
	}
}

func TestSafeText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain é\ttab\nline", "plain é\ttab\nline"},
		{"\x1b[31mred", `\x1b[31mred`},
		{"bell\a", `bell\a`},
		{"c1\u009bcsi", `c1\u009bcsi`},
	}
	for _, tt := range tests {
		if got := safeText(tt.in); got != tt.want {
			t.Errorf("safeText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestJUnitSchema validates the JUnit output (fixture and empty session) against
// testdata/junit.xsd with xmllint (Debian package libxml2-utils).
func TestJUnitSchema(t *testing.T) {
	xmllint := testenv.RequireBinary(t, "xmllint")
	dir := t.TempDir()
	reports := map[string]*checks.Report{
		"fixture.xml": fixture(),
		"empty.xml":   {Session: "vide"},
	}
	for name, r := range reports {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, render(t, "junit", Options{}, r), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(xmllint, "--noout", "--schema", filepath.Join("testdata", "junit.xsd"), path).CombinedOutput()
		if err != nil {
			t.Errorf("%s does not validate: %v\n%s", name, err, out)
		}
	}
}

// TestCSVJuryPoints: the "Points du jury" column adds the jury's marks, and is
// empty (not 0) while the jury marked nothing.
func TestCSVJuryPoints(t *testing.T) {
	r := fixture()
	marked := 0
	for c := range r.Candidates {
		for i := range r.Candidates[c].Results {
			if res := &r.Candidates[c].Results[i]; r.Candidates[c].ID == "cand-1" && res.CheckID == "support.accueil" {
				res.MaxPoints, res.JuryMark = 2, &checks.JuryMark{Points: 1.5, Author: "Mme Martin"}
				marked++
			}
		}
	}
	if marked != 1 {
		t.Fatalf("the fixture's cand-1 has %d support.accueil", marked)
	}
	out := render(t, "csv", Options{}.ExcelFR(), r)
	rd := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(out, []byte(utf8BOM))))
	rd.Comma = ';'
	rows, err := rd.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := slices.Index(rows[0], "Points du jury")
	if col < 0 || rows[1][col] != "1,5" || rows[2][col] != "" {
		t.Errorf("Points du jury: column %d, cand-1 %q, cand-2 %q; want 1,5 and empty", col, rows[1][col], rows[2][col])
	}
}
