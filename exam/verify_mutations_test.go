package exam

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/labs"
)

func refs(ids ...string) []labs.CheckRef {
	out := make([]labs.CheckRef, len(ids))
	for i, id := range ids {
		out[i] = labs.CheckRef{ID: id}
	}
	return out
}

// A mutation is caught when exactly its checks do not pass: one that passes
// is not caught (a check credits the near miss), one more that fails is an
// overreach; na checks are not compared; an error is never a verdict.
func TestCompareMutation(t *testing.T) {
	suites := []*checks.Suite{{Name: "s", Checks: []*checks.Check{{ID: "a"}, {ID: "b"}, {ID: "c"}, {ID: "d"}}}}
	tests := []struct {
		name      string
		fails, na []string
		rep       checks.CandidateReport
		want      string // caught, or the first difference
	}{
		{"exact", []string{"a", "s/b"}, nil, vrep("a=fail", "b=skip", "c=pass", "d=pass"), "caught"},
		{"not caught", []string{"a", "b"}, nil, vrep("a=fail", "b=pass", "c=pass", "d=pass"), "not caught: s/b passed"},
		{"overreach", []string{"a"}, nil, vrep("a=fail", "b=pass", "c=fail", "d=pass"), "overreach: s/c fail"},
		{"na not compared", []string{"a"}, []string{"c"}, vrep("a=fail", "b=pass", "c=fail", "d=pass"), "caught"},
		{"error", []string{"a"}, nil, vrep("a=fail", "b=pass", "c=pass", "d=error"), "error: s/d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := CompareMutation(labs.Mutation{Name: "m", Fails: refs(tt.fails...), NA: refs(tt.na...)}, suites, tt.rep)
			got := "caught"
			switch {
			case len(v.Errors) > 0:
				got = "error: " + v.Errors[0]
			case len(v.NotCaught) > 0:
				got = "not caught: " + v.NotCaught[0]
			case len(v.Overreach) > 0:
				got = "overreach: " + v.Overreach[0]
			}
			if !strings.HasPrefix(got, tt.want) || v.Caught() != (tt.want == "caught") {
				t.Errorf("got %q (caught %v), want %q", got, v.Caught(), tt.want)
			}
		})
	}
}

// After an admin action the untouched lab passes exactly what it passed, and
// every fault is present.
func TestCompareIntegrity(t *testing.T) {
	untouched := vrep("g=pass", "a=fail", "b=skip")
	tests := []struct {
		name   string
		after  checks.CandidateReport
		faults []FaultWatch
		held   bool
	}{
		{"held", vrep("g=pass", "a=fail", "b=fail"), []FaultWatch{{Fault: "f", Before: Present, Reapplied: true, After: Present}}, true},
		{"gained", vrep("g=pass", "a=pass", "b=skip"), nil, false},
		{"guard lost", vrep("g=fail", "a=fail", "b=skip"), nil, false},
		{"fault lost", vrep("g=pass", "a=fail", "b=skip"), []FaultWatch{{Fault: "f", Before: Present, After: Absent}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := CompareIntegrity("reset", untouched, tt.after, tt.faults)
			if run.Held() != tt.held {
				t.Errorf("held = %v, want %v: %+v", run.Held(), tt.held, run)
			}
		})
	}
}

// The printed verdict ends with the line CI looks for, or names each
// difference.
func TestPrintMutations(t *testing.T) {
	v := &Verification{
		Mutations: []MutationVerdict{{Name: "lien", Title: "Le lien est désactivé", Fails: []string{"s/a"}},
			{Name: "ou", Title: "Mauvaise OU", Fails: []string{"s/b"}, NotCaught: []string{"s/b passed: t"}}},
		Integrity: []IntegrityRun{{Action: "reset"}, {Action: "snapshot create", Gained: []string{"s/a"}}},
	}
	var b bytes.Buffer
	if err := v.PrintMutations(&b); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"NOT CAUGHT ou: s/b passed: t", "2 mutation(s), 1 not exact.", "GAINED after snapshot create: s/a", "BROKEN"} {
		if !strings.Contains(b.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, b.String())
		}
	}
	v.Mutations, v.Integrity = v.Mutations[:1], v.Integrity[:1]
	b.Reset()
	_ = v.PrintMutations(&b)
	for _, w := range []string{"1 mutation(s), every mutation caught.", "nothing gained, every fault present"} {
		if !strings.Contains(b.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, b.String())
		}
	}
}

// A mutation naming a check the suites do not have is refused at its
// file:line:col, as `tailab validate` and verify load the lab.
func TestMutationUnknownCheck(t *testing.T) {
	dir := t.TempDir()
	suite := "name: s\nchecks:\n  - {id: dns-actif, title: t, competence: C2.3, machine: srv, probe: {type: tcp, port: 53}, expect: {open: true}}\n"
	lab := `name: l
secrets: {k: {ssh_key: true}}
networks: [{name: lan, cidr: 10.0.0.0/24}]
defaults: {kind: container, os: linux, credentials: {ssh: {user: root, key: k}}}
machines:
  - {name: srv, role: server, nics: [{network: lan, address: 10.0.0.10}]}
checks: [suite.yaml]
solution:
  steps: [{name: a, machine: srv, run: "true"}]
mutations:
  - name: m
    title: t
    steps: [{name: a, machine: srv, run: "true"}]
    fails: [dns-actif, dns-actf, s/dns-actif, t/dns-actif]
`
	for name, data := range map[string]string{"suite.yaml": suite, "lab.yaml": lab} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err := ValidateFile(filepath.Join(dir, "lab.yaml"), Probes())
	if err == nil {
		t.Fatal("no error")
	}
	for _, w := range []string{
		`lab.yaml:14:24: mutations[0].fails[1]: no check "dns-actf" in the lab's suites (did you mean "dns-actif"?)`,
		`lab.yaml:14:47: mutations[0].fails[3]: no check "t/dns-actif"`,
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("diagnostics lack %q:\n%v", w, err)
		}
	}
	if strings.Contains(err.Error(), "fails[0]") || strings.Contains(err.Error(), "fails[2]") {
		t.Errorf("a check of the suites refused:\n%v", err)
	}
}
