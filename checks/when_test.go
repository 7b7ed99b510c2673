package checks

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/tailab/tailab/internal/yamlx"
)

// whenSuite has one guard, one check per fault of two groups, a check that
// depends on a conditioned one, a critical conditioned check, a check for either
// of two faults and a conditioned jury item.
const whenSuite = `
name: depannage
referential: tai-2018
checks:
  - {id: guard, title: G, competence: C3.4, machine: srv, probe: {type: fake, text: up}, expect: {text: up}, points: 0, critical: true}
  - id: dns
    title: DNS
    competence: C3.4
    machine: srv
    depends_on: [guard]
    when: {fault: dnsmasq-arrete}
    probe: {type: fake, text: ok}
    expect: {text: ok}
    points: 2
  - id: web
    title: Web
    competence: C3.4
    machine: srv
    when: {fault: intranet-arrete}
    probe: {type: fake, text: ok}
    expect: {text: ok}
    points: 2
  - id: web-content
    title: Contenu
    competence: C3.4
    machine: srv
    depends_on: [web]
    probe: {type: fake, text: ok}
    expect: {text: ok}
  - id: disk
    title: Disque
    competence: C3.2
    machine: srv
    when: {fault: disque-plein}
    critical: true
    probe: {type: fake, text: full}
    expect: {text: ok}
    points: 2
  - id: storage
    title: Stockage
    competence: C3.2
    machine: srv
    when: {any_fault: [disque-plein, droits-partage]}
    probe: {type: fake, text: ok}
    expect: {text: ok}
    points: 3
jury:
  - {id: jury-web, competence: C3.4, title: Explique la panne du site, points: 2, when: {fault: intranet-arrete}}
  - {id: jury-all, competence: C3.1, title: Accueil, points: 1}
`

func drawn(c Candidate, names ...string) Candidate {
	c.FaultsKnown = true
	for _, n := range names {
		c.Faults = append(c.Faults, Fault{Name: n, Title: "titre " + n})
	}
	return c
}

// TestWhenDrawnFaults: a candidate who drew one fault per group gets the checks
// of the other faults as not applicable, and is scored out of their own.
func TestWhenDrawnFaults(t *testing.T) {
	reg, fake, _ := testRegistry()
	s := suiteFrom(t, reg, whenSuite)
	if err := s.CheckFaults([]string{"dnsmasq-arrete", "intranet-arrete", "disque-plein", "droits-partage"}); err != nil {
		t.Fatalf("CheckFaults: %v", err)
	}
	cands := []Candidate{
		drawn(candidate("c1", 1, "srv"), "dnsmasq-arrete", "droits-partage"),
		drawn(candidate("c2", 2, "srv"), "intranet-arrete", "disque-plein"),
		candidate("c3", 3, "srv"),        // faults not recorded: everything applies
		drawn(candidate("c4", 4, "srv")), // recorded, none drawn
	}
	rep, _ := grade(t, reg, []*Suite{s}, cands...)
	want := map[string]string{
		"c1": "guard=pass dns=pass web=na web-content=na disk=na storage=pass jury-web=na jury-all=jury",
		"c2": "guard=pass dns=na web=pass web-content=pass disk=fail storage=pass jury-web=jury jury-all=jury",
		"c3": "guard=pass dns=pass web=pass web-content=pass disk=fail storage=pass jury-web=jury jury-all=jury",
		"c4": "guard=pass dns=na web=na web-content=na disk=na storage=na jury-web=na jury-all=jury",
	}
	for _, cr := range rep.Candidates {
		if got := statuses(cr); got != want[cr.ID] {
			t.Errorf("%s:\n got %s\nwant %s", cr.ID, got, want[cr.ID])
		}
	}
	c1, c2, c3, c4 := rep.Candidates[0], rep.Candidates[1], rep.Candidates[2], rep.Candidates[3]
	// Not observed: c1's batch holds neither web nor disk.
	if got := fake.batches["c1/srv"]; len(got) != 1 || strings.Join(got[0], ",") != "guard,dns,storage" {
		t.Errorf("c1 batches = %v", got)
	}
	if len(fake.batches["c4/srv"]) != 1 || strings.Join(fake.batches["c4/srv"][0], ",") != "guard" {
		t.Errorf("c4 batches = %v", fake.batches["c4/srv"])
	}
	// Points: c1 earns dns (2) + storage (3) out of 5; the max of n/a checks is
	// not counted. c2: web (2) + content (1) out of 2+1 in C3.4, and in C3.2
	// disk (2) and storage (3), capped at 0 by the critical disk that failed.
	// c3, whose faults are unknown, is graded on everything, as before.
	for _, tc := range []struct {
		cr         CandidateReport
		points, of float64
	}{{c1, 5, 5}, {c2, 3, 8}, {c3, 5, 10}, {c4, 0, 0}} {
		if tc.cr.Points != tc.points || tc.cr.MaxPoints != tc.of {
			t.Errorf("%s: %g/%g, want %g/%g", tc.cr.ID, tc.cr.Points, tc.cr.MaxPoints, tc.points, tc.of)
		}
	}
	if c1.Counts.NA != 4 || c1.Counts.Pass != 3 || c1.Counts.Jury != 1 || c4.Counts.NA != 6 {
		t.Errorf("counts: c1 %+v, c4 %+v", c1.Counts, c4.Counts)
	}
	// A critical check that does not apply does not cap; one that fails does.
	for _, cr := range []CandidateReport{c1, c2} {
		for _, s := range cr.Competences {
			if s.ID == "C3.2" && s.Capped != (cr.ID == "c2") {
				t.Errorf("%s: C3.2 capped = %v", cr.ID, s.Capped)
			}
			if s.ID == "C3.4" && cr.ID == "c1" && (len(s.JuryItems) != 0 || s.MaxPoints != 2) {
				t.Errorf("c1 C3.4 = %+v (the n/a jury item is not listed, n/a checks not counted)", s)
			}
		}
	}
	if r := result(t, c1, "web"); r.MaxPoints != 2 || r.Points != 0 || r.Machine != "srv" ||
		r.Message != "sans objet : l'incident « intranet-arrete » n'a pas été tiré pour ce candidat" {
		t.Errorf("web = %+v", r)
	}
	if r := result(t, c1, "web-content"); !strings.Contains(r.Message, `prérequis "web" est sans objet`) {
		t.Errorf("web-content = %+v", r)
	}
	if r := result(t, c4, "storage"); r.Message != "sans objet : aucun des incidents « disque-plein », « droits-partage » n'a été tiré pour ce candidat" {
		t.Errorf("storage = %q", r.Message)
	}
	if !reflect.DeepEqual(c1.Faults, []Fault{{"dnsmasq-arrete", "titre dnsmasq-arrete"}, {"droits-partage", "titre droits-partage"}}) || c3.Faults != nil {
		t.Errorf("faults: c1 %v, c3 %v", c1.Faults, c3.Faults)
	}
	// n/a is not a failure: the exit code of c1 alone is 0.
	one := &Report{Candidates: []CandidateReport{c1}}
	if code := one.ExitCode(); code != ExitPass {
		t.Errorf("exit code with n/a = %d", code)
	}
	if tot := rep.Totals(); tot.NA != 4+1+0+6 {
		t.Errorf("totals = %+v", tot)
	}
}

// TestWhenEveryFault: with every fault applied (tailab verify) every check applies.
func TestWhenEveryFault(t *testing.T) {
	reg, _, _ := testRegistry()
	s := suiteFrom(t, reg, whenSuite)
	c := drawn(candidate("v00", 1, "srv"), "dnsmasq-arrete", "intranet-arrete", "disque-plein", "droits-partage")
	rep, _ := grade(t, reg, []*Suite{s}, c)
	if n := rep.Candidates[0].Counts.NA; n != 0 {
		t.Errorf("%d n/a results with every fault drawn: %s", n, statuses(rep.Candidates[0]))
	}
}

// TestWhenSuite: a suite-level condition applies to every check and jury item,
// together with their own.
func TestWhenSuite(t *testing.T) {
	reg, _, _ := testRegistry()
	s := suiteFrom(t, reg, `
name: reseau
when: {any_fault: [passerelle-erronee, dns-client-errone]}
checks:
  - {id: gw, title: G, competence: C3.4, machine: pc, when: {fault: passerelle-erronee}, probe: {type: fake, text: a}, expect: {text: a}}
  - {id: ping, title: P, competence: C3.4, machine: pc, probe: {type: fake, text: a}, expect: {text: a}}
jury:
  - {id: j, competence: C3.4, title: J}
`)
	rep, _ := grade(t, reg, []*Suite{s},
		drawn(candidate("a", 1, "pc"), "dns-client-errone"),
		drawn(candidate("b", 2, "pc"), "hosts-empoisonne"),
		drawn(candidate("c", 3, "pc"), "passerelle-erronee"))
	want := []string{"gw=na ping=pass j=jury", "gw=na ping=na j=na", "gw=pass ping=pass j=jury"}
	for i, cr := range rep.Candidates {
		if got := statuses(cr); got != want[i] {
			t.Errorf("%s: %s, want %s", cr.ID, got, want[i])
		}
	}
	if !s.Conditional() {
		t.Error("Conditional() = false")
	}
}

func TestWhenDiagnostics(t *testing.T) {
	check := func(when string) string {
		return "name: t\nchecks:\n  - id: a\n    title: A\n    competence: C1.1\n    machine: pc1\n    probe: {type: fake}\n    expect: {ok: true}\n    when: " + when + "\n"
	}
	tests := []struct {
		name, src string
		want      []string
	}{
		{"fault", check("{fault: dns-client-errone}"), nil},
		{"any_fault", check("{any_fault: [a, b-2]}"), nil},
		{"null when", check("null"), nil},
		{"not a mapping", check("dns"), []string{`s.yaml:9:11: checks[0].when: expected a mapping, got "dns"`}},
		{"empty", check("{}"), []string{"s.yaml:9:11: checks[0].when: expected fault: NAME or any_fault: [NAME, ...] (faults of the lab)"}},
		{"unknown key", check("{faults: x}"), []string{`s.yaml:9:12: checks[0].when.faults: unknown field (did you mean "fault"?)`}},
		{"both", check("{fault: a, any_fault: [b]}"), []string{"s.yaml:9:33: checks[0].when: give either fault or any_fault, not both"}},
		{"empty list", check("{any_fault: []}"), []string{"s.yaml:9:23: checks[0].when.any_fault: expected at least one fault name"}},
		{"list as fault", check("{fault: [a, b]}"), []string{"s.yaml:9:19: checks[0].when.fault: expected a fault name"}},
		{"bad name", check("{fault: Disque_Plein}"), []string{`s.yaml:9:19: checks[0].when.fault: "Disque_Plein" is not a fault name (lower-case letters, digits and '-', starting with a letter)`}},
		{"twice", check("{any_fault: [a, a]}"), []string{`s.yaml:9:27: checks[0].when.any_fault[1]: "a" listed twice`}},
		{"suite", "name: t\nwhen: {fault: ''}\njury: [{id: j, competence: C1.1, title: J}]\n", []string{
			`s.yaml:2:15: when.fault: expected a fault name`,
		}},
		{"jury", "name: t\njury: [{id: j, competence: C1.1, title: J, when: {any_fault: x}}]\n", []string{
			`s.yaml:2:62: jury[0].when.any_fault: expected a list, got "x"`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg, _, _ := testRegistry()
			_, err := LoadSuite("s.yaml", []byte(tt.src), reg, nil)
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

// TestCheckFaults: a name that is not one of the lab's faults is reported at
// its position, with the closest name.
func TestCheckFaults(t *testing.T) {
	reg, _, _ := testRegistry()
	s, err := LoadSuite("suites/depannage.yaml", []byte(whenSuite+`
  - {id: jury-typo, competence: C3.4, title: T, when: {any_fault: [disque-plein, intranet-arete]}}
`), reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = s.CheckFaults([]string{"dnsmasq-arrete", "intranet-arrete", "disque-plein"})
	var diags yamlx.Diagnostics
	if !errors.As(err, &diags) {
		t.Fatalf("err = %v, want diagnostics", err)
	}
	want := strings.Join([]string{
		`suites/depannage.yaml:43:38: checks[5].when.any_fault[1]: unknown fault "droits-partage" (valid: disque-plein, dnsmasq-arrete, intranet-arrete)`,
		`suites/depannage.yaml:51:82: jury[2].when.any_fault[1]: unknown fault "intranet-arete" (did you mean "intranet-arrete"?)`,
	}, "\n")
	if got := err.Error(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if err := s.CheckFaults(nil); err == nil || !strings.Contains(err.Error(), `checks[1].when.fault: unknown fault "dnsmasq-arrete": the lab declares no faults`) {
		t.Errorf("no faults: %v", err)
	}
	plain := suiteFrom(t, reg, batchSuite)
	if err := plain.CheckFaults(nil); err != nil || plain.Conditional() {
		t.Errorf("unconditioned suite: %v, conditional %v", err, plain.Conditional())
	}
}
