package checks

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/checks/referential"
	"github.com/tailab/tailab/internal/yamlx"
)

var t0 = time.Date(2024, 6, 3, 8, 30, 0, 0, time.UTC)

// suiteFrom loads a suite written inline.
func suiteFrom(t testing.TB, reg *probe.Registry, src string) *Suite {
	t.Helper()
	s, err := LoadSuite("inline.yaml", []byte(src), reg, nil)
	if err != nil {
		t.Fatalf("load:\n%v", err)
	}
	return s
}

func grade(t testing.TB, reg *probe.Registry, suites []*Suite, cands ...Candidate) (*Report, *fakeClock) {
	t.Helper()
	clock := &fakeClock{now: t0}
	r := &Runner{Registry: reg, Clock: clock, Concurrency: 4}
	rep, err := r.Run(context.Background(), Session{ID: "s1", Lab: "lab-ad", StartedAt: t0}, suites, cands)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return rep, clock
}

// statuses returns "id=status" for each result of a candidate.
func statuses(cr CandidateReport) string {
	var out []string
	for _, r := range cr.Results {
		out = append(out, r.CheckID+"="+string(r.Status))
	}
	return strings.Join(out, " ")
}

func result(t testing.TB, cr CandidateReport, id string) Result {
	t.Helper()
	for _, r := range cr.Results {
		if r.CheckID == id {
			return r
		}
	}
	t.Fatalf("no result %q", id)
	return Result{}
}

const batchSuite = `
name: batch
referential: tai-2018
checks:
  - {id: dc-1, title: T, competence: C2.2, machine: dc, probe: {type: fake, text: a}, expect: {text: a}}
  - {id: pc-1, title: T, competence: C1.1, machine: pc1, probe: {type: fake, text: b}, expect: {text: b}}
  - {id: dc-2, title: T, competence: C2.2, machine: dc, probe: {type: fake, text: c}, expect: {text: c}}
  - {id: dc-o, title: T, competence: C2.3, machine: dc, probe: {type: other, text: d}, expect: {text: d}}
  - {id: pc-2, title: T, competence: C1.3, machine: pc1, probe: {type: fake, text: e}, expect: {text: e}}
  - {id: via, title: T, competence: C2.3, machine: dc, from: pc1, probe: {type: other, text: f}, expect: {text: f}}
  - {id: dc-3, title: T, competence: C2.2, machine: dc, probe: {type: fake, text: g}, expect: {text: g}}
`

func TestOneRunPerMachinePerProbe(t *testing.T) {
	reg, fake, other := testRegistry()
	s := suiteFrom(t, reg, batchSuite)
	extra := suiteFrom(t, reg, `
name: extra
checks:
  - {id: dc-1, title: Same id in another suite, competence: C2.2, machine: dc, probe: {type: fake, text: z}, expect: {text: z}}
`)
	cands := []Candidate{candidate("c1", 1, "dc", "pc1"), candidate("c2", 2, "dc", "pc1"), candidate("c3", 3, "dc", "pc1")}
	rep, _ := grade(t, reg, []*Suite{s, extra}, cands...)
	for _, c := range cands {
		if got := fake.runCount(c.ID, "dc"); got != 1 {
			t.Errorf("%s: fake Run on dc %d times, want 1", c.ID, got)
		}
		if got := fake.runCount(c.ID, "pc1"); got != 1 {
			t.Errorf("%s: fake Run on pc1 %d times, want 1", c.ID, got)
		}
		if got := other.runCount(c.ID, "dc"); got != 1 {
			t.Errorf("%s: other Run on dc %d times, want 1", c.ID, got)
		}
		if got := other.runCount(c.ID, "pc1"); got != 1 {
			t.Errorf("%s: other Run on pc1 (vantage of 'via') %d times, want 1", c.ID, got)
		}
	}
	// The dc batch holds the four fake checks on dc, across both suites, in suite order.
	if got := fake.batches["c1/dc"][0]; !reflect.DeepEqual(got, []string{"batch/dc-1", "dc-2", "dc-3", "extra/dc-1"}) {
		t.Errorf("dc batch = %v", got)
	}
	for _, cr := range rep.Candidates {
		want := "dc-1=pass pc-1=pass dc-2=pass dc-o=pass pc-2=pass via=pass dc-3=pass dc-1=pass"
		if got := statuses(cr); got != want {
			t.Errorf("%s: %s", cr.ID, got)
		}
	}
	if via := result(t, rep.Candidates[0], "via"); via.Machine != "dc" || via.From != "pc1" || via.Suite != "batch" {
		t.Errorf("via = %+v", via)
	}
	if rep.Candidates[0].Results[7].Suite != "extra" {
		t.Errorf("suite of extra/dc-1 = %q", rep.Candidates[0].Results[7].Suite)
	}
}

func TestStatuses(t *testing.T) {
	reg, fake, _ := testRegistry()
	s := suiteFrom(t, reg, `
name: statuses
checks:
  - id: pass
    title: Réussi
    competence: C1.1
    machine: pc1
    probe: {type: fake, text: "Windows 11 Pro"}
    expect: {text: {contains: Pro}, port: 0}
  - id: fail
    title: Échoué
    competence: C1.1
    machine: pc1
    probe: {type: fake, text: "Windows 11 Famille"}
    expect: {text: {contains: Pro}, machine: pc1}
  - id: obs-error
    title: Erreur d'observation
    competence: C1.1
    machine: pc1
    probe: {type: fake, err: "WinRM: 401 Unauthorized for admin/S3cr3t-c1"}
    expect: {ok: true}
  - id: batch-error
    title: Machine injoignable
    competence: C2.2
    machine: dc
    probe: {type: fake, evidence: "ssh root@10.0.1.1:22, host key ssh-ed25519 SHA256:abc (REFUSED: pinned SHA256:def)"}
    expect: {ok: true}
  - id: missing-machine
    title: Machine absente
    competence: C2.1
    machine: router
    probe: {type: fake}
    expect: {ok: true}
  - id: missing-field
    title: Champ absent
    competence: C1.1
    machine: pc1
    probe: {type: fake}
    expect: {nope: {exists: true}}
`)
	fake.batchErr["dc"] = errors.New("dial tcp 10.0.1.1:5986: connect: no route to host")
	rep, _ := grade(t, reg, []*Suite{s}, candidate("c1", 1, "dc", "pc1"))
	cr := rep.Candidates[0]
	if got, want := statuses(cr), "pass=pass fail=fail obs-error=error batch-error=error missing-machine=error missing-field=fail"; got != want {
		t.Fatalf("statuses = %s, want %s", got, want)
	}
	f := result(t, cr, "fail")
	// The jury reads a sentence; the matcher's own words stay in the evidence.
	if f.Message != `attendu : contient « Pro » ; trouvé : « Windows 11 Famille » (text)` || f.Expectations[0].Message != `"Pro" absent du texte` || len(f.Expectations) != 2 || f.Expectations[0].OK || !f.Expectations[1].OK {
		t.Errorf("fail = %+v", f)
	}
	if e := f.Expectations[0]; e.Actual != `"Windows 11 Famille"` || e.Expected != `contient "Pro"` {
		t.Errorf("expectation = %+v", e)
	}
	oe := result(t, cr, "obs-error")
	if oe.Message != "observation impossible : WinRM: 401 Unauthorized for admin/****" {
		t.Errorf("obs-error message not masked: %q", oe.Message)
	}
	be := result(t, cr, "batch-error")
	if !strings.Contains(be.Message, "no route to host") || be.Points != 0 {
		t.Errorf("batch-error = %+v", be)
	}
	// The probe's partial observation (the host key it was shown) stays in the evidence.
	if !strings.Contains(be.Evidence, "(REFUSED: pinned SHA256:def)") {
		t.Errorf("batch-error lost the probe's evidence: %q", be.Evidence)
	}
	if mm := result(t, cr, "missing-machine"); mm.Message != `machine "router" absente de l'inventaire du candidat` {
		t.Errorf("missing-machine = %+v", mm)
	}
	if mf := result(t, cr, "missing-field"); mf.Expectations[0].Actual != "(absent)" {
		t.Errorf("missing-field = %+v", mf)
	}
	if fake.runCount("c1", "router") != 0 {
		t.Error("probe ran for a machine not in the inventory")
	}
	if rep.ExitCode() != ExitInfra {
		t.Errorf("exit code = %d", rep.ExitCode())
	}
}

func TestDependencies(t *testing.T) {
	reg, _, _ := testRegistry()
	s := suiteFrom(t, reg, `
name: deps
checks:
  - {id: child, title: T, competence: C2.2, machine: dc, probe: {type: fake}, expect: {ok: true}, depends_on: [root]}
  - {id: root, title: T, competence: C2.2, machine: dc, probe: {type: fake, text: x}, expect: {text: y}}
  - {id: grandchild, title: T, competence: C2.2, machine: dc, probe: {type: fake}, expect: {ok: true}, depends_on: [child]}
  - {id: sibling, title: T, competence: C2.2, machine: dc, probe: {type: fake}, expect: {ok: true}}
  - {id: after-pass, title: T, competence: C2.2, machine: dc, probe: {type: fake}, expect: {ok: true}, depends_on: [sibling]}
  - {id: after-error, title: T, competence: C2.2, machine: dc, probe: {type: fake}, expect: {ok: true}, depends_on: [broken]}
  - {id: broken, title: T, competence: C2.2, machine: dc, probe: {type: fake, err: timeout}, expect: {ok: true}}
`)
	rep, _ := grade(t, reg, []*Suite{s}, candidate("c1", 1, "dc"))
	cr := rep.Candidates[0]
	want := "child=skip root=fail grandchild=skip sibling=pass after-pass=pass after-error=skip broken=error"
	if got := statuses(cr); got != want {
		t.Fatalf("statuses = %s\nwant       %s", got, want)
	}
	c := result(t, cr, "child")
	if c.Message != `non évalué : le contrôle prérequis "root" n'a pas réussi (fail)` || c.Expectations != nil || c.Points != 0 || c.MaxPoints != 1 {
		t.Errorf("child = %+v", c)
	}
	if g := result(t, cr, "grandchild"); !strings.Contains(g.Message, `"child"`) || !strings.Contains(g.Message, "(skip)") {
		t.Errorf("grandchild = %+v", g)
	}
}

func TestRetry(t *testing.T) {
	reg, fake, _ := testRegistry()
	s := suiteFrom(t, reg, `
name: retry
checks:
  - {id: flaky, title: T, competence: C2.3, machine: dc, probe: {type: fake, fail_until: 2}, expect: {ok: true}, retry: {attempts: 3, interval: 10s}}
  - {id: steady, title: T, competence: C2.3, machine: dc, probe: {type: fake}, expect: {ok: true}, retry: {attempts: 3}}
  - {id: hopeless, title: T, competence: C2.3, machine: dc, probe: {type: fake, fail_until: 9}, expect: {ok: true}, retry: {attempts: 2, interval: 1s}}
  - {id: no-retry, title: T, competence: C2.3, machine: dc, probe: {type: fake, fail_until: 1}, expect: {ok: true}}
  - {id: erring, title: T, competence: C2.3, machine: dc, probe: {type: fake, err: refused}, expect: {ok: true}, retry: {attempts: 2, interval: 1s}}
`)
	rep, clock := grade(t, reg, []*Suite{s}, candidate("c1", 1, "dc"))
	cr := rep.Candidates[0]
	if got, want := statuses(cr), "flaky=pass steady=pass hopeless=fail no-retry=fail erring=error"; got != want {
		t.Fatalf("statuses = %s", got)
	}
	attempts := map[string]int{}
	for _, r := range cr.Results {
		attempts[r.CheckID] = r.Attempts
	}
	if want := map[string]int{"flaky": 3, "steady": 1, "hopeless": 2, "no-retry": 1, "erring": 2}; !reflect.DeepEqual(attempts, want) {
		t.Errorf("attempts = %v, want %v", attempts, want)
	}
	// Round 1: everything; round 2: the three failing checks with attempts left;
	// round 3: flaky alone. Each round is one Run.
	want := [][]string{
		{"flaky", "steady", "hopeless", "no-retry", "erring"},
		{"flaky", "hopeless", "erring"},
		{"flaky"},
	}
	if got := fake.batches["c1/dc"]; !reflect.DeepEqual(got, want) {
		t.Errorf("batches = %v, want %v", got, want)
	}
	if clock.slept != 20*time.Second {
		t.Errorf("slept %v, want 20s (10s before each round, the longest interval)", clock.slept)
	}
}

func TestCriticalCapAndScore(t *testing.T) {
	reg, _, _ := testRegistry()
	s := suiteFrom(t, reg, `
name: critical
checks:
  - {id: dc-up, title: T, competence: C2.2, machine: dc, probe: {type: fake, text: down}, expect: {text: up}, critical: true}
  - {id: ou, title: T, competence: C2.2, machine: dc, probe: {type: fake}, expect: {ok: true}, points: 3}
  - {id: gpo, title: T, competence: C2.2, machine: dc, probe: {type: fake}, expect: {ok: true}, points: 2}
  - {id: fw, title: T, competence: C1.4, machine: pc1, probe: {type: fake}, expect: {ok: true}, critical: true, points: 2}
  - {id: av, title: T, competence: C1.4, machine: pc1, probe: {type: fake, text: off}, expect: {text: on}}
jury:
  - {id: j-accueil, competence: C3.1, title: Accueil du client, points: 4}
  - {id: j-dossier, competence: C2.2, title: Explication du plan de nommage}
`)
	rep, _ := grade(t, reg, []*Suite{s}, candidate("c1", 1, "dc", "pc1"))
	cr := rep.Candidates[0]
	byID := map[string]CompetenceScore{}
	var order []string
	for _, c := range cr.Competences {
		byID[c.ID] = c
		order = append(order, c.ID)
	}
	if strings.Join(order, " ") != strings.Join(referential.MustLoad("tai-2018").CompetenceIDs(), " ") {
		t.Fatalf("competences = %v", order)
	}
	c22 := byID["C2.2"]
	if !c22.Capped || c22.Points != 0 || c22.UncappedPoints != 5 || c22.MaxPoints != 6 || c22.Percent != 0 ||
		!reflect.DeepEqual(c22.JuryItems, []string{"Explication du plan de nommage"}) || c22.Counts != (Counts{Pass: 2, Fail: 1, Jury: 1}) {
		t.Errorf("C2.2 = %+v", c22)
	}
	c14 := byID["C1.4"]
	if c14.Capped || c14.Points != 2 || c14.MaxPoints != 3 || c14.Percent != 66.7 {
		t.Errorf("C1.4 = %+v", c14)
	}
	c31 := byID["C3.1"]
	if c31.MaxPoints != 0 || c31.Points != 0 || !reflect.DeepEqual(c31.JuryItems, []string{"Accueil du client"}) {
		t.Errorf("C3.1 = %+v", c31)
	}
	if c11 := byID["C1.1"]; c11.MaxPoints != 0 || c11.Title != "Installer un système ou déployer un master dans un poste client" || c11.CCP != "CCP1" {
		t.Errorf("C1.1 = %+v", c11)
	}
	if len(cr.CCPs) != 3 || cr.CCPs[0].Points != 2 || cr.CCPs[0].MaxPoints != 3 || cr.CCPs[1].Points != 0 || cr.CCPs[1].MaxPoints != 6 || cr.CCPs[2].MaxPoints != 0 {
		t.Errorf("CCPs = %+v", cr.CCPs)
	}
	if cr.Points != 2 || cr.MaxPoints != 9 || cr.Counts != (Counts{Pass: 3, Fail: 2, Jury: 2}) {
		t.Errorf("totals = %v/%v %+v", cr.Points, cr.MaxPoints, cr.Counts)
	}
	if j := result(t, cr, "j-accueil"); j.Status != StatusJury || j.MaxPoints != 4 || j.Points != 0 {
		t.Errorf("jury result = %+v", j)
	}
}

func TestScoreTable(t *testing.T) {
	ref := referential.MustLoad("tai-2018")
	r := func(comp string, st Status, pts float64, critical bool) Result {
		res := Result{CheckID: comp + string(st), Competence: comp, Status: st, MaxPoints: pts, Critical: critical}
		if st == StatusPass {
			res.Points = pts
		}
		return res
	}
	tests := []struct {
		name      string
		results   []Result
		comp      string
		points    float64
		max       float64
		percent   float64
		capped    bool
		uncapped  float64
		ccpPoints float64
	}{
		{"no check", nil, "C2.1", 0, 0, 0, false, 0, 0},
		{"all pass", []Result{r("C2.1", StatusPass, 2, false), r("C2.1", StatusPass, 1, false)}, "C2.1", 3, 3, 100, false, 0, 3},
		{"partial", []Result{r("C2.1", StatusPass, 1, false), r("C2.1", StatusFail, 2, false)}, "C2.1", 1, 3, 33.3, false, 0, 1},
		{"error earns nothing and does not cap", []Result{r("C2.1", StatusPass, 1, false), r("C2.1", StatusError, 1, true)}, "C2.1", 1, 2, 50, false, 0, 1},
		{"skip counts in max", []Result{r("C2.1", StatusPass, 1, false), r("C2.1", StatusSkip, 1, false)}, "C2.1", 1, 2, 50, false, 0, 1},
		{"critical fail caps", []Result{r("C2.1", StatusPass, 4, false), r("C2.1", StatusFail, 1, true)}, "C2.1", 0, 5, 0, true, 4, 0},
		{"critical skip caps", []Result{r("C2.1", StatusPass, 4, false), r("C2.1", StatusSkip, 1, true)}, "C2.1", 0, 5, 0, true, 4, 0},
		{"critical pass", []Result{r("C2.1", StatusPass, 4, true), r("C2.1", StatusFail, 1, false)}, "C2.1", 4, 5, 80, false, 0, 4},
		{"cap is per competence", []Result{r("C2.1", StatusPass, 1, false), r("C2.2", StatusFail, 1, true)}, "C2.1", 1, 1, 100, false, 0, 1},
		{"jury not counted", []Result{r("C2.1", StatusJury, 5, false), r("C2.1", StatusPass, 1, false)}, "C2.1", 1, 1, 100, false, 0, 1},
		{"half points", []Result{r("C2.1", StatusPass, 0.5, false), r("C2.1", StatusFail, 1, false)}, "C2.1", 0.5, 1.5, 33.3, false, 0, 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cr := &CandidateReport{ID: "c", Results: tt.results}
			Score(ref, cr)
			if len(cr.Competences) != 11 {
				t.Fatalf("%d competences", len(cr.Competences))
			}
			var s CompetenceScore
			for _, c := range cr.Competences {
				if c.ID == tt.comp {
					s = c
				}
			}
			if s.Points != tt.points || s.MaxPoints != tt.max || s.Percent != tt.percent || s.Capped != tt.capped || s.UncappedPoints != tt.uncapped {
				t.Errorf("%s = %+v", tt.comp, s)
			}
			if cr.CCPs[1].Points != tt.ccpPoints {
				t.Errorf("CCP2 points = %v, want %v", cr.CCPs[1].Points, tt.ccpPoints)
			}
		})
	}
}

func TestDeterminism(t *testing.T) {
	reg, _, _ := testRegistry()
	valid := loadTestSuite(t, "valid.yaml")
	batch := suiteFrom(t, reg, batchSuite)
	cands := []Candidate{candidate("c1", 1, "dc", "pc1"), candidate("c2", 2, "dc", "pc1"), candidate("c3", 3, "dc")}
	var first []byte
	for i := 0; i < 5; i++ {
		reg, _, _ := testRegistry()
		rep, _ := grade(t, reg, []*Suite{valid, batch}, cands...)
		b, err := json.MarshalIndent(rep, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = b
		} else if string(b) != string(first) {
			t.Fatalf("grading %d differs from the first:\n%s\n---\n%s", i, b, first)
		}
	}
}

func TestTemplatesPerCandidate(t *testing.T) {
	reg, fake, other := testRegistry()
	s := loadTestSuite(t, "valid.yaml")
	c1, c2 := candidate("c1", 1, "dc", "pc1"), candidate("c2", 2, "dc", "pc1")
	rep, _ := grade(t, reg, []*Suite{s}, c1, c2)
	for i, c := range []Candidate{c1, c2} {
		cr := rep.Candidates[i]
		if got := statuses(cr); got != "reach=pass ou=pass dns-from-client=pass jury-accueil=jury" {
			t.Errorf("%s: %s", c.ID, got)
		}
		v := fake.params[c.ID+"/ou"]
		if v["text"] != "OU=OU-"+c.ID+",DC=lab,DC=local" || v["port"] != 8000+i+1 {
			t.Errorf("%s: rendered params %v", c.ID, v)
		}
		if got := other.params[c.ID+"/dns-from-client"]["text"]; got != c.Machines["dc"].Address+" from pc1" {
			t.Errorf("%s: vantage params %v", c.ID, got)
		}
	}
	// A candidate without the parameter: the run stops before observing anything.
	bad := candidate("c3", 3, "dc", "pc1")
	delete(bad.Params, "ou")
	reg2, fake2, _ := testRegistry()
	_, err := (&Runner{Registry: reg2, Clock: &fakeClock{}}).Run(context.Background(), Session{}, []*Suite{s}, []Candidate{c1, bad})
	var diags yamlx.Diagnostics
	if !errors.As(err, &diags) || len(diags) != 2 {
		t.Fatalf("err = %v", err)
	}
	want := `testdata/suites/valid.yaml:18:13: checks[1].probe.text: candidate c3: template: at <.Params.ou>: map has no entry for key "ou"`
	if diags[0].Error() != want {
		t.Errorf("diag = %s\nwant   %s", diags[0].Error(), want)
	}
	if len(fake2.runs) != 0 {
		t.Error("probes ran despite template errors")
	}
}

func TestTemplateRetypingAndValidation(t *testing.T) {
	reg, fake, _ := testRegistry()
	s := suiteFrom(t, reg, `
name: tpl
checks:
  - id: typed
    title: T
    competence: C2.2
    machine: dc
    probe:
      type: fake
      port: "{{ .Params.port }}"
      text: !!str "{{ .Params.port }}"
      values: {created: "{{ .Session.StartedAt }}", who: "{{ .Candidate.LastName | upper }}", q: "{{ psquote .Candidate.FirstName }}"}
    expect:
      port: "{{ .Params.port }}"
      text: !!str "{{ .Params.port }}"
      created: {after: "2024-01-01T00:00:00Z", before: "{{ .Session.StartedAt }}"}
      who: NOMC1
      q: "'Prénom'"
`)
	_ = s
	c := candidate("c1", 1, "dc")
	rep, _ := grade(t, reg, []*Suite{s}, c)
	cr := rep.Candidates[0]
	r := result(t, cr, "typed")
	// created == StartedAt is not before it: that one expectation fails.
	if r.Status != StatusFail || len(r.Expectations) != 5 {
		t.Fatalf("typed = %+v", r)
	}
	for i, e := range r.Expectations {
		if (i == 2) == e.OK {
			t.Errorf("expectation %d = %+v", i, e)
		}
	}
	v := fake.params["c1/typed"]
	if v["port"] != 8001 || v["text"] != "8001" || v["created"] != "2024-06-03T08:30:00Z" {
		t.Errorf("rendered = %#v", v)
	}
	// Validate runs on rendered parameters.
	bad := candidate("c2", 2, "dc")
	bad.Params["port"] = 70000
	_, err := (&Runner{Registry: reg, Clock: &fakeClock{}}).Run(context.Background(), Session{StartedAt: t0}, []*Suite{s}, []Candidate{bad})
	if err == nil || err.Error() != "inline.yaml:9:7: checks[0].probe.port: candidate c2: must be between 0 and 65535, got 70000" {
		t.Errorf("err = %v", err)
	}
}

func TestEvidenceMasked(t *testing.T) {
	reg, _, _ := testRegistry()
	s := suiteFrom(t, reg, `
name: mask
checks:
  - {id: m, title: T, competence: C1.4, machine: pc1, probe: {type: fake, evidence: "net use \\\\dc\\partage /user:admin S3cr3t-c1", values: {out: "pw=S3cr3t-c1"}}, expect: {out: x}}
  - id: revealed
    title: T
    competence: C1.4
    machine: pc1
    probe: {type: fake, evidence: "login jdupont:{{ .Reveal .Params.pw }}", values: {pw: "{{ .Reveal .Params.pw }}"}}
    expect: {pw: nope}
`)
	c := candidate("c1", 1, "pc1", "dc")
	c.Params["pw"] = secretValue("Azerty-123!")
	rep, _ := grade(t, reg, []*Suite{s}, c)
	b, _ := json.Marshal(rep)
	for _, leak := range []string{"S3cr3t-c1", "Azerty-123!"} {
		if strings.Contains(string(b), leak) {
			t.Errorf("report leaks %q: %s", leak, b)
		}
	}
	m := result(t, rep.Candidates[0], "m")
	if m.Evidence != `net use \\dc\partage /user:admin ****` || m.Expectations[0].Actual != `"pw=****"` {
		t.Errorf("m = %+v", m)
	}
	if r := result(t, rep.Candidates[0], "revealed"); r.Evidence != "login jdupont:****" {
		t.Errorf("revealed = %+v", r)
	}
}

func TestConcurrencyBound(t *testing.T) {
	reg, fake, _ := testRegistry()
	fake.delay = 20 * time.Millisecond
	s := suiteFrom(t, reg, batchSuite)
	var cands []Candidate
	for i := 0; i < 12; i++ {
		cands = append(cands, candidate(string(rune('a'+i)), i, "dc", "pc1"))
	}
	r := &Runner{Registry: reg, Concurrency: 3}
	rep, err := r.Run(context.Background(), Session{}, []*Suite{s}, cands)
	if err != nil {
		t.Fatal(err)
	}
	if fake.peak > 3 || fake.peak < 2 {
		t.Errorf("peak concurrency %d, want 2..3", fake.peak)
	}
	if rep.Totals().Pass != 12*7 {
		t.Errorf("totals = %+v", rep.Totals())
	}
}

func TestCancellation(t *testing.T) {
	reg, fake, _ := testRegistry()
	fake.delay = time.Minute
	s := suiteFrom(t, reg, batchSuite)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(30 * time.Millisecond)
		cancel()
	}()
	start := time.Now()
	rep, err := (&Runner{Registry: reg}).Run(ctx, Session{}, []*Suite{s}, []Candidate{candidate("c1", 1, "dc", "pc1")})
	if !errors.Is(err, context.Canceled) || rep == nil {
		t.Fatalf("err = %v, rep = %v", err, rep)
	}
	if time.Since(start) > 10*time.Second {
		t.Fatal("cancellation not honoured")
	}
	if got := rep.Candidates[0].Results[0].Status; got != StatusError {
		t.Errorf("status after cancel = %s", got)
	}
}

func TestProbePanicIsAnError(t *testing.T) {
	reg, fake, _ := testRegistry()
	fake.panicOn = "dc"
	s := suiteFrom(t, reg, batchSuite)
	rep, _ := grade(t, reg, []*Suite{s}, candidate("c1", 1, "dc", "pc1"))
	if got := statuses(rep.Candidates[0]); got != "dc-1=error pc-1=pass dc-2=error dc-o=pass pc-2=pass via=pass dc-3=error" {
		t.Errorf("statuses = %s", got)
	}
}

func TestRunRejects(t *testing.T) {
	reg, _, _ := testRegistry()
	s := suiteFrom(t, reg, batchSuite)
	r := &Runner{Registry: reg, Clock: &fakeClock{}}
	if _, err := r.Run(context.Background(), Session{}, []*Suite{s, s}, nil); err == nil || !strings.Contains(err.Error(), `two suites are named "batch"`) {
		t.Errorf("same suite twice: %v", err)
	}
	c := candidate("c1", 1, "dc")
	if _, err := r.Run(context.Background(), Session{}, []*Suite{s}, []Candidate{c, c}); err == nil {
		t.Error("repeated candidate accepted")
	}
	other := *s
	other.Name, other.Referential = "x", "rncp-2023"
	if _, err := r.Run(context.Background(), Session{}, []*Suite{s, &other}, nil); err == nil || !strings.Contains(err.Error(), "different referentials") {
		t.Errorf("mixed referentials: %v", err)
	}
}
