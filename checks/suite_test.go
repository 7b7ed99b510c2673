package checks

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/checks/referential"
	"github.com/tailab/tailab/internal/yamlx"
)

var update = flag.Bool("update", false, "rewrite golden files")

func testRegistry() (*probe.Registry, *fakeProbe, *fakeProbe) {
	f, o := newFake("fake"), newFake("other")
	return probe.NewRegistry(f, o), f, o
}

func loadTestSuite(t testing.TB, name string) *Suite {
	t.Helper()
	reg, _, _ := testRegistry()
	s, err := LoadSuiteFile(filepath.Join("testdata", "suites", name), reg, nil)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return s
}

func TestLoadValidSuite(t *testing.T) {
	s := loadTestSuite(t, "valid.yaml")
	if s.Name != "valid" || s.Referential != "tai-2018" || len(s.Checks) != 3 || len(s.Jury) != 1 {
		t.Fatalf("suite = %+v", s)
	}
	reach, ou, dns := s.Checks[0], s.Checks[1], s.Checks[2]
	if reach.Points != 1 || !reach.Critical || reach.Retry.Attempts != 1 || reach.Templated() {
		t.Errorf("reach = %+v", reach)
	}
	if p := reach.params.(*fakeParams); p.Text != "up" {
		t.Errorf("reach params = %+v", p)
	}
	if ou.Points != 2 || ou.Retry != (Retry{Attempts: 3, Interval: 10 * time.Second}) || ou.Timeout != 20*time.Second ||
		!ou.Templated() || strings.Join(ou.DependsOn, ",") != "reach" || strings.Join(ou.ExpectFields(), ",") != "text,port" {
		t.Errorf("ou = %+v", ou)
	}
	if dns.Vantage() != "pc1" || dns.Machine != "dc" || dns.Probe != "other" {
		t.Errorf("dns = %+v", dns)
	}
	if j := s.Jury[0]; j.ID != "jury-accueil" || j.Points != 3 || j.Competence != "C3.1" {
		t.Errorf("jury = %+v", j)
	}
}

// TestLoadDiagnostics is the golden test of the loader's messages: a broken file
// yields exactly the expected file:line:col: field: message list, in one pass.
func TestLoadDiagnostics(t *testing.T) {
	reg, _, _ := testRegistry()
	path := filepath.Join("testdata", "suites", "broken.yaml")
	_, err := LoadSuiteFile(path, reg, nil)
	var diags yamlx.Diagnostics
	if !errors.As(err, &diags) {
		t.Fatalf("err = %v, want diagnostics", err)
	}
	got := err.Error() + "\n"
	golden := filepath.Join("testdata", "suites", "broken.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if got != string(want) {
		t.Errorf("diagnostics differ from %s (go test -update to accept):\n--- got\n%s--- want\n%s", golden, got, want)
	}
}

func TestLoadDiagnosticsTable(t *testing.T) {
	head := "name: t\nreferential: tai-2018\nchecks:\n"
	check := func(extra string) string {
		return head + "  - id: a\n    title: A\n    competence: C1.1\n    machine: pc1\n" + extra
	}
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"empty", "", []string{"s.yaml: empty suite: expected name, referential and checks"}},
		{"syntax", "name: [", []string{"s.yaml:1: invalid YAML: did not find expected node content"}},
		{"no checks", "name: t\n", []string{"s.yaml:1:1: checks: a suite needs at least one check or jury item"}},
		{"unknown referential", "name: t\nreferential: tai-2099\njury: [{id: j, competence: C1.1, title: J}]\n", []string{
			`s.yaml:2:14: referential: unknown referential "tai-2099" (did you mean "tai-2018"?)`,
		}},
		{"missing probe and expect", check(""), []string{
			"s.yaml:4:5: checks[0].probe: required: a mapping with type (fake, other) and the probe's parameters",
			"s.yaml:4:5: checks[0].expect: required: a mapping of observed field to matcher",
		}},
		{"probe without type", check("    probe: {text: x}\n    expect: {ok: true}\n"), []string{
			"s.yaml:8:12: checks[0].probe.type: required: one of fake, other",
		}},
		{"unknown probe", check("    probe: {type: ldap}\n    expect: {ok: true}\n"), []string{
			`s.yaml:8:19: checks[0].probe.type: unknown probe "ldap" (valid: fake, other)`,
		}},
		{"unknown param", check("    probe: {type: fake, txet: x}\n    expect: {ok: true}\n"), []string{
			`s.yaml:8:25: checks[0].probe.txet: unknown field (did you mean "text"?)`,
		}},
		{"validate", check("    probe: {type: fake, port: -1}\n    expect: {ok: true}\n"), []string{
			`s.yaml:8:12: checks[0].probe.port: must be between 0 and 65535, got -1`,
		}},
		{"empty expect", check("    probe: {type: fake}\n    expect: {}\n"), []string{
			`s.yaml:9:13: checks[0].expect: expected a non-empty mapping of observed field to matcher`,
		}},
		{"bad path", check("    probe: {type: fake}\n    expect: {\"a[x]\": 1}\n"), []string{
			`s.yaml:9:14: checks[0].expect.a[x]: invalid field path "a[x]": index "x" is not an integer`,
		}},
		{"suite referential mismatch", "name: t\nreferential: rncp-2023\njury: [{id: j, competence: C1.1, title: J}]\n", nil},
		{"template missing key is checked per candidate", check("    probe: {type: fake, text: \"{{ .Params.nope }}\"}\n    expect: {ok: true}\n"), nil},
		{"template unknown field", check("    probe: {type: fake, text: \"{{ .Session.Start }}\"}\n    expect: {ok: true}\n"), []string{
			`s.yaml:8:31: checks[0].probe.text: invalid template: unknown field Start (valid: ID, Lab, StartedAt)`,
		}},
		{"critical not bool", check("    probe: {type: fake}\n    expect: {ok: true}\n    critical: maybe\n"), []string{
			`s.yaml:10:15: checks[0].critical: expected true or false, got "maybe"`,
		}},
		{"retry attempts too many", check("    probe: {type: fake}\n    expect: {ok: true}\n    retry: {attempts: 50}\n"), []string{
			`s.yaml:10:12: checks[0].retry.attempts: must be between 1 and 20, got 50`,
		}},
		{"depends on itself", check("    probe: {type: fake}\n    expect: {ok: true}\n    depends_on: [a]\n"), []string{
			`s.yaml:10:18: checks[0].depends_on[0]: a check cannot depend on itself`,
		}},
		{"anchors and merge keys", head +
			"  - &base {id: a, title: A, competence: C1.1, machine: pc1, probe: {type: fake}, expect: {ok: true}}\n" +
			"  - {<<: *base, id: b, depends_on: [a]}\n", nil},
	}
	ref := referential.MustLoad("tai-2018")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg, _, _ := testRegistry()
			var r *referential.Referential
			if tt.name == "suite referential mismatch" {
				r = ref
				tt.want = []string{`s.yaml:2:14: referential: the suite targets "rncp-2023" but grading uses "tai-2018"`}
			}
			_, err := LoadSuite("s.yaml", []byte(tt.src), reg, r)
			var got []string
			if err != nil {
				got = strings.Split(err.Error(), "\n")
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestParsePath(t *testing.T) {
	good := map[string]string{
		"stdout":          "stdout",
		"answers[0].data": "answers [0] data",
		"a.b[-1][2].c":    "a b [-1] [2] c",
	}
	for in, want := range good {
		p, err := parsePath(in)
		if err != nil {
			t.Errorf("parsePath(%q): %v", in, err)
			continue
		}
		var parts []string
		for _, s := range p {
			if s.isIdx {
				parts = append(parts, "["+itoa(s.index)+"]")
			} else {
				parts = append(parts, s.key)
			}
		}
		if got := strings.Join(parts, " "); got != want {
			t.Errorf("parsePath(%q) = %s, want %s", in, got, want)
		}
	}
	for _, bad := range []string{"", ".a", "a.", "[0]", "a[", "a[0", "a[0]b", "a[x]"} {
		if _, err := parsePath(bad); err == nil {
			t.Errorf("parsePath(%q) accepted", bad)
		}
	}
}

func itoa(i int) string {
	if i < 0 {
		return "-" + itoa(-i)
	}
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + itoa(i%10)
}

func TestLookup(t *testing.T) {
	values := map[string]any{
		"stdout":  "ok",
		"answers": []any{map[string]any{"data": "10.0.0.1"}, map[string]any{"data": "10.0.0.2"}},
		"typed":   []string{"a", "b"},
	}
	tests := map[string]any{
		"stdout":           "ok",
		"answers[1].data":  "10.0.0.2",
		"answers[-1].data": "10.0.0.2",
		"typed[0]":         "a",
		"answers[2].data":  "(absent)",
		"stdout.x":         "(absent)",
		"missing":          "(absent)",
		"typed[x]":         nil,
	}
	for path, want := range tests {
		p, err := parsePath(path)
		if err != nil {
			if want != nil {
				t.Errorf("parsePath(%q): %v", path, err)
			}
			continue
		}
		got := lookup(values, p)
		if s, ok := got.(interface{ String() string }); ok {
			got = s.String()
		}
		if got != want {
			t.Errorf("lookup(%q) = %v, want %v", path, got, want)
		}
	}
}

// FuzzLoadSuite feeds arbitrary documents to the loader: it must never panic,
// and a rejected file always says where.
func FuzzLoadSuite(f *testing.F) {
	for _, name := range []string{"valid.yaml", "broken.yaml"} {
		data, err := os.ReadFile(filepath.Join("testdata", "suites", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("name: x\nchecks:\n  - {id: a, title: A, competence: C1.1, machine: m, probe: {type: fake}, expect: {ok: true}, depends_on: [a]}\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("checks: [{probe: {type: fake, text: '{{ .Params.x | upper }}'}, expect: {text: {count: {where: x}}}}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		reg, _, _ := testRegistry()
		s, err := LoadSuite("f.yaml", data, reg, nil)
		if err == nil {
			if s == nil {
				t.Fatal("nil suite without error")
			}
			return
		}
		var diags yamlx.Diagnostics
		if !errors.As(err, &diags) || len(diags) == 0 {
			t.Fatalf("error is not diagnostics: %v", err)
		}
		for _, d := range diags {
			if d.Pos.File != "f.yaml" || d.Message == "" {
				t.Fatalf("diagnostic without file or message: %+v", d)
			}
		}
	})
}

func TestLoadSuiteFilesAndMachines(t *testing.T) {
	reg, _, _ := testRegistry()
	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := write("a.yaml", "name: same\nchecks:\n  - {id: a, title: A, competence: C1.1, machine: pc1, probe: {type: fake}, expect: {ok: true}}\n")
	b := write("b.yaml", "name: same\nchecks:\n  - {id: b, title: B, competence: C1.1, machine: dc, from: pc2, probe: {type: fake}, expect: {ok: true}}\n")
	c := write("c.yaml", "name: c\nchecks:\n  - {id: c, title: C, competence: C0, machine: dc, probe: {type: fake}, expect: {ok: true}}\n")
	_, err := LoadSuiteFiles([]string{a, b, c}, reg, nil)
	if err == nil || !strings.Contains(err.Error(), `b.yaml: name: suite name "same" already used by `+a) ||
		!strings.Contains(err.Error(), `c.yaml:3:35: checks[0].competence: unknown competence "C0"`) {
		t.Fatalf("err = %v", err)
	}
	suites, err := LoadSuiteFiles([]string{a, write("b2.yaml", "name: b\nchecks:\n  - {id: b, title: B, competence: C1.1, machine: dc, from: pc2, probe: {type: fake}, expect: {ok: true}}\n")}, reg, nil)
	if err != nil || len(suites) != 2 {
		t.Fatalf("suites = %v, err = %v", suites, err)
	}
	if err := suites[0].CheckMachines([]string{"pc1", "dc"}); err != nil {
		t.Errorf("CheckMachines: %v", err)
	}
	err = suites[1].CheckMachines([]string{"pc1", "dc"})
	if err == nil || !strings.HasSuffix(err.Error(), `b2.yaml:3:60: checks[0].from: unknown machine "pc2" (did you mean "pc1"?)`) {
		t.Errorf("CheckMachines = %v", err)
	}
}
