package referential

import (
	"strings"
	"testing"
)

func TestEveryEmbeddedFileLoads(t *testing.T) {
	vs := Versions()
	if len(vs) == 0 {
		t.Fatal("no embedded referential")
	}
	for _, v := range vs {
		r, err := Load(v)
		if err != nil {
			t.Errorf("Load(%q): %v", v, err)
			continue
		}
		if r.Version != v || len(r.Competences()) == 0 {
			t.Errorf("Load(%q): version %q, %d competences", v, r.Version, len(r.Competences()))
		}
		for _, c := range r.Competences() {
			if got, ok := r.CCPOf(c.ID); !ok || got.ID != c.CCP {
				t.Errorf("%s: CCPOf(%s) = %v, %v", v, c.ID, got.ID, ok)
			}
		}
	}
}

func TestTAI2018(t *testing.T) {
	r, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if r.Version != "tai-2018" || r.Code != "TP-00476" {
		t.Fatalf("default referential = %s %s", r.Version, r.Code)
	}
	want := "C1.1 C1.2 C1.3 C1.4 C2.1 C2.2 C2.3 C3.1 C3.2 C3.3 C3.4"
	if got := strings.Join(r.CompetenceIDs(), " "); got != want {
		t.Fatalf("ids = %s, want %s", got, want)
	}
	if len(r.CCPs) != 3 {
		t.Fatalf("%d CCPs", len(r.CCPs))
	}
	tests := []struct{ id, ccp, title string }{
		{"C1.1", "CCP1", "Installer un système ou déployer un master dans un poste client"},
		{"C2.2", "CCP2", "Intervenir sur un annuaire réseau de type Active Directory"},
		{"C3.4", "CCP3", "Diagnostiquer et résoudre un dysfonctionnement numérique"},
	}
	for _, tt := range tests {
		c, ok := r.Competence(tt.id)
		if !ok || c.CCP != tt.ccp || c.Title != tt.title {
			t.Errorf("Competence(%s) = %+v, %v", tt.id, c, ok)
		}
	}
	if ccp, ok := r.CCP("CCP2"); !ok || ccp.Title != "Intervenir sur les éléments de l'infrastructure" || len(ccp.Competences) != 3 {
		t.Errorf("CCP2 = %+v", ccp)
	}
	if _, ok := r.Competence("C4.1"); ok {
		t.Error("C4.1 found")
	}
	if _, ok := r.CCPOf("nope"); ok {
		t.Error("CCPOf(nope) found")
	}
}

func TestLoadUnknown(t *testing.T) {
	_, err := Load("tai-2019")
	if err == nil || !strings.Contains(err.Error(), `unknown referential "tai-2019"`) || !strings.Contains(err.Error(), "tai-2018") {
		t.Fatalf("err = %v", err)
	}
	if _, err := Load("../etc/passwd"); err == nil {
		t.Fatal("path accepted")
	}
}

func TestParseDiagnostics(t *testing.T) {
	src := `version: x-1
title: T
ccps:
  - id: CCP1
    title: A
    competences:
      - id: C1.1
        title: a
      - id: C1.1
        title: b
  - id: block2
    titel: B
    competences: []
`
	_, err := Parse("r.yaml", []byte(src))
	want := []string{
		`r.yaml:9:9: ccps[0].competences[1].id: duplicate competence "C1.1"`,
		`r.yaml:11:5: ccps[1].id: must look like CCP1, got "block2"`,
		`r.yaml:11:5: ccps[1].title: required`,
		`r.yaml:11:5: ccps[1].competences: at least one competence is required`,
		`r.yaml:12:5: ccps[1].titel: unknown field (did you mean "title"?)`,
	}
	if err == nil {
		t.Fatal("no error")
	}
	if got := err.Error(); got != strings.Join(want, "\n") {
		t.Fatalf("got:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}
