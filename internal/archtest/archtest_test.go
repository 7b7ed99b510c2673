package archtest

import (
	"slices"
	"strings"
	"testing"
)

// TestImportRules reads the module's real import graph and fails on every
// arrow Rules forbids.
func TestImportRules(t *testing.T) {
	g, err := Load("../..")
	if err != nil {
		t.Fatal(err)
	}
	// The graph is the real one: the rooms the rules speak of are in it.
	for _, p := range []string{"provision", "scenario", "checks", "checks/probe/winrm", "labs", "results", "cmd/tailab"} {
		if _, ok := g[p]; !ok {
			t.Fatalf("package %s is not in the graph go list read (%d packages)", p, len(g))
		}
	}
	for _, v := range Check(g, Rules) {
		t.Error(v)
	}
}

// A fake graph with one forbidden arrow planted per rule: Check names each,
// and only those.
func TestRulesCatchPlantedArrows(t *testing.T) {
	clean := Graph{
		"cmd/tailab":         {Imports: []string{"exam", "provision/libvirt"}},
		"exam":               {Imports: []string{"scenario", "provision", "results", "checks", "labs"}},
		"scenario":           {Imports: []string{"checks/probe/ssh", "labs"}, Deps: []string{"checks/probe", "checks/probe/ssh", "labs"}},
		"provision":          {Imports: []string{"labs", "internal/store"}, Deps: []string{"labs", "internal/store"}},
		"provision/libvirt":  {Imports: []string{"provision", "provision/naming"}, Deps: []string{"provision", "provision/naming", "labs"}},
		"results":            {Imports: []string{"checks", "internal/store"}},
		"checks":             {Imports: []string{"internal/yamlx"}, Deps: []string{"internal/yamlx"}},
		"checks/probe/winrm": {Imports: []string{"checks/probe", "internal/tlspin"}, Deps: []string{"checks/probe", "internal/tlspin"}},
		"labs":               {Imports: []string{"internal/yamlx"}, Deps: []string{"internal/yamlx"}},
	}
	if v := Check(clean, Rules); len(v) != 0 {
		t.Fatalf("clean graph: %v", v)
	}
	for _, tc := range []struct {
		name, from, to string
		direct         bool // planted as a direct import, not only in Deps
		want           string
	}{
		{"provision runs a probe", "provision", "checks/probe/ldap", true, "provision imports checks/probe/ldap: forbidden (provision builds machines"},
		{"provision pulls a probe in through a helper", "provision/libvirt", "checks/probe/winrm", false, "provision/libvirt depends on checks/probe/winrm"},
		{"a probe reads the lab model", "checks/probe/winrm", "labs", true, "checks/probe/winrm imports labs: forbidden (grading stays independent"},
		{"checks runs a scenario", "checks", "scenario", false, "checks depends on scenario"},
		{"checks reaches the web", "checks", "web", true, "checks imports web"},
		{"labs grades", "labs", "checks", true, "labs imports checks: forbidden (the lab model is a leaf"},
		{"labs provisions", "labs", "provision/naming", false, "labs depends on provision/naming"},
		{"exam opens the store", "exam", "internal/store", true, "exam imports internal/store: forbidden (the store is opened through its owners"},
		{"a library imports the command", "exam", "cmd/tailab", true, "exam imports cmd/tailab: forbidden (nothing imports the command line)"},
		{"the grader links libvirt", "checks", "provision/libvirt", true, "checks imports provision/libvirt"},
		{"scenario links libvirt", "scenario", "provision/libvirt", true, "scenario imports provision/libvirt: forbidden (the libvirt provider needs cgo"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := Graph{}
			for k, p := range clean {
				g[k] = Package{Imports: slices.Clone(p.Imports), Deps: slices.Clone(p.Deps)}
			}
			p := g[tc.from]
			if tc.direct {
				p.Imports = append(p.Imports, tc.to)
			}
			p.Deps = append(p.Deps, tc.to)
			g[tc.from] = p
			v := Check(g, Rules)
			if len(v) == 0 {
				t.Fatalf("the planted arrow %s → %s was not caught", tc.from, tc.to)
			}
			var msgs []string
			for _, x := range v {
				msgs = append(msgs, x.String())
			}
			if !slices.ContainsFunc(msgs, func(m string) bool { return strings.HasPrefix(m, tc.want) }) {
				t.Errorf("violations %q lack %q", msgs, tc.want)
			}
			for _, m := range msgs {
				if !strings.HasPrefix(m, tc.from+" imports "+tc.to+":") && !strings.HasPrefix(m, tc.from+" depends on "+tc.to+":") {
					t.Errorf("an arrow that was not planted: %s", m)
				}
			}
		})
	}
}

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, path string
		want          bool
	}{
		{"labs", "labs", true},
		{"labs", "labs/catalogtest", false},
		{"checks/...", "checks", true},
		{"checks/...", "checks/probe/ssh", true},
		{"checks/...", "checksum", false},
		{"...", "anything/at/all", true},
	} {
		if got := Match(tc.pattern, tc.path); got != tc.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tc.pattern, tc.path, got, tc.want)
		}
	}
}

func TestParse(t *testing.T) {
	const out = `{"ImportPath": "fmt"}
{"ImportPath": "github.com/tailab/tailab/labs", "Imports": ["fmt", "github.com/tailab/tailab/internal/yamlx"], "Deps": ["fmt", "github.com/tailab/tailab/internal/yamlx"]}
{"ImportPath": "github.com/tailab/tailab/internal/yamlx"}
`
	g, err := Parse(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if len(g) != 2 || !slices.Equal(g["labs"].Imports, []string{"internal/yamlx"}) || !slices.Equal(g["labs"].Deps, []string{"internal/yamlx"}) {
		t.Errorf("graph = %+v", g)
	}
	if _, err := Parse(strings.NewReader(`{"ImportPath": "fmt"}`)); err == nil {
		t.Error("a graph without the module's packages parsed")
	}
	if _, err := Parse(strings.NewReader(`{"ImportPath": `)); err == nil {
		t.Error("truncated output parsed")
	}
}
