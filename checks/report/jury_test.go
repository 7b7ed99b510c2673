package report

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tailab/tailab/checks"
)

func renderJury(t *testing.T, r *checks.Report, ids ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := (&Jury{Candidates: ids}).Format(&buf, r); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestJuryGolden(t *testing.T) {
	cases := []struct {
		file string
		ids  []string
		rep  func() *checks.Report
	}{
		{"jury-cand-2.golden", []string{"cand-2"}, fixture},
		{"jury-all.golden", nil, fixture},
		{"jury-empty.golden", nil, func() *checks.Report {
			return &checks.Report{Session: "vide", Lab: "tai-ad-tpe", Referential: "tai-2018"}
		}},
		{"jury-unknown-referential.golden", []string{"cand-1"}, func() *checks.Report {
			r := fixture()
			r.Referential = "inconnu-1999"
			return r
		}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			got := renderJury(t, tc.rep(), tc.ids...)
			checkGolden(t, tc.file, got)
			if bytes.ContainsRune(got, 0x1b) {
				t.Error("raw ESC in the jury page")
			}
			for _, s := range fixtureSecrets {
				if bytes.Contains(got, []byte(s)) {
					t.Errorf("secret %q in the jury page", s)
				}
			}
		})
	}
}

func TestJuryContent(t *testing.T) {
	page := string(renderJury(t, fixture(), "cand-2"))
	digest, err := EvidenceDigest(fixture(), "cand-2")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Technicien d&#39;assistance en informatique — TP-00476 — niveau 4",
		"<th>Nom et prénom</th><td colspan=\"3\">LEFÈVRE Zoé</td>",
		// The running header: name and number on every printed page.
		`@page candidat1 { @top-left { content: "LEFÈVRE Zoé — n° cand-2 — session 2026-06-paris-tai";`,
		`style="page: candidat1"`,
		"<th>N° candidat</th><td>cand-2</td><th>Session</th><td>2026-06-paris-tai</td>",
		// The whole title: C2.1 has no check in the lab but is listed.
		"<tr><td>C2.1</td><td>Intervenir sur un équipement réseau</td><td class=\"num none\" colspan=\"2\"><span class=\"muted\">non évaluée dans ce sujet</span>",
		"plafonnée",
		"<td>C3.1</td><td>Accueil et reformulation du besoin du client</td><td class=\"num\"></td><td class=\"fill\"></td><td class=\"fill\"></td>",
		"☐ acquis",
		// The rule's proposal, for the jury to confirm: a critical check failed.
		"Proposée par la règle : <strong>non acquis</strong> (vérification critique échouée en C2.2)",
		"Proposée par la règle : <strong>non acquis</strong> (25,0 % &lt; 50,0 %)",
		digest,
		"--at 2026-06-12T14:03:07Z -o digest",
		`\x1b[2J le poste`, // terminal escape shown, not sent
		"@page { size: A4; margin: 16mm 12mm 12mm; }",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("jury page lacks %q", want)
		}
	}
	if strings.Contains(page, "cand-10") || strings.Contains(page, "Dupont") {
		t.Error("the page of one candidate shows another candidate")
	}
	if strings.Contains(page, "<script") {
		t.Error("jury page holds a script")
	}
}

func TestJuryUnknownCandidate(t *testing.T) {
	err := (&Jury{Candidates: []string{"nobody"}}).Format(&bytes.Buffer{}, fixture())
	if err == nil || !strings.Contains(err.Error(), `no candidate "nobody"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestEvidenceDigest(t *testing.T) {
	base, err := EvidenceDigest(fixture(), "cand-2")
	if err != nil {
		t.Fatal(err)
	}
	if len(base) != 64 {
		t.Fatalf("digest %q is not 64 hex digits", base)
	}
	// Candidate order, result order and other candidates do not matter.
	shuffled := fixture()
	c := &shuffled.Candidates[1]
	for i, j := 0, len(c.Results)-1; i < j; i, j = i+1, j-1 {
		c.Results[i], c.Results[j] = c.Results[j], c.Results[i]
	}
	shuffled.Candidates = shuffled.Candidates[1:2]
	shuffled.Candidates[0].Competences = nil // scores are not evidence
	if d, _ := EvidenceDigest(shuffled, "cand-2"); d != base {
		t.Errorf("reordered report: digest %s, want %s", d, base)
	}
	changes := []struct {
		name string
		edit func(r *checks.Report)
	}{
		{"evidence", func(r *checks.Report) { r.Candidates[1].Results[1].Evidence += " " }},
		{"status", func(r *checks.Report) { r.Candidates[1].Results[2].Status = checks.StatusPass }},
		{"points", func(r *checks.Report) { r.Candidates[1].Results[1].Points = 2 }},
		{"expectation", func(r *checks.Report) { r.Candidates[1].Results[1].Expectations[0].Actual = "x" }},
		{"timing", func(r *checks.Report) { r.Candidates[1].Results[0].Duration++ }},
		{"name", func(r *checks.Report) { r.Candidates[1].FirstName = "Zoe" }},
		{"session", func(r *checks.Report) { r.Session = "autre" }},
	}
	for _, tc := range changes {
		t.Run(tc.name, func(t *testing.T) {
			r := fixture()
			tc.edit(r)
			if d, _ := EvidenceDigest(r, "cand-2"); d == base {
				t.Errorf("changing the %s kept the digest", tc.name)
			}
		})
	}
	if _, err := EvidenceDigest(fixture(), "nobody"); err == nil {
		t.Error("digest of a missing candidate: no error")
	}
}

func TestCanonicalNumber(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want string
	}{
		{0, "0"}, {4, "4"}, {1.5, "1.5"}, {-2.25, "-2.25"}, {120000000, "120000000"},
		{33.333333333333336, "33.333333333333336"}, {1e21, "1e+21"}, {1e-7, "1e-7"},
		{0.000001, "0.000001"}, {123456789012345680000, "123456789012345680000"},
	} {
		got, err := canonicalNumber(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("canonicalNumber(%v) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// TestEvidenceDigestPython recomputes the digest with the recipe of
// docs/dashboard.md from the JSON report, as an auditor without tailab would.
func TestEvidenceDigestPython(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	dir := t.TempDir()
	js := filepath.Join(dir, "report.json")
	if err := WriteFile(js, &JSON{}, fixture()); err != nil {
		t.Fatal(err)
	}
	script := `import hashlib, json, sys
rep = json.load(open(sys.argv[1], encoding="utf-8"))
c = next(c for c in rep["candidates"] if c["id"] == sys.argv[2])
bundle = {"format": "tailab-evidence/1", "session": rep["session"], "lab": rep["lab"],
          "referential": rep["referential"],
          "candidate": {k: c[k] for k in ("id", "last_name", "first_name") if k in c},
          "results": c["results"]}
data = json.dumps(bundle, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
print(hashlib.sha256(data.encode("utf-8")).hexdigest())
`
	if err := os.WriteFile(filepath.Join(dir, "digest.py"), []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"cand-1", "cand-2", "cand-10"} {
		out, err := exec.Command(py, filepath.Join(dir, "digest.py"), js, id).CombinedOutput()
		if err != nil {
			t.Fatalf("python: %v\n%s", err, out)
		}
		want, _ := EvidenceDigest(fixture(), id)
		if got := strings.TrimSpace(string(out)); got != want {
			t.Errorf("%s: python recipe gives %s, tailab %s", id, got, want)
		}
	}
}

// TestJuryNotApplicableCompetence: a competence whose every check is about
// incidents the candidate did not draw reads "sans objet", not "évaluée par le
// jury" (its maximum is 0 like a jury-only one's).
func TestJuryNotApplicableCompetence(t *testing.T) {
	r := &checks.Report{Session: "s", Lab: "ccp3", Referential: "tai-2018", Candidates: []checks.CandidateReport{
		drew(candidate("c1", "Martin", "Léa", nil,
			check("pc2-passerelle", "C3.4", "Le poste pc2 sort par la box", checks.StatusNA, 0, 2,
				msg("sans objet : l'incident « passerelle-erronee » n'a pas été tiré pour ce candidat")),
			check("os.build", "C1.1", "Windows 11", checks.StatusPass, 1, 1)),
			faultDNS),
	}}
	for i := range r.Candidates {
		for j := range r.Candidates[i].Competences {
			r.Candidates[i].Competences[j].Title = competenceTitles[r.Candidates[i].Competences[j].ID][1]
		}
	}
	page := string(renderJury(t, r, "c1"))
	for _, want := range []string{
		"<tr><td>C3.4</td><td>Diagnostiquer et résoudre un dysfonctionnement numérique</td><td class=\"num none\" colspan=\"2\"><span class=\"muted\">sans objet pour ce candidat</span></td></tr>",
		"<tr><td>dns-client-errone</td><td>Le poste pc1 interroge un serveur DNS inexistant</td></tr>",
		`<tr class="na"><td>C3.4</td><td><span class="st st-na">sans objet</span></td>`,
		"1 réussie(s), 0 échec(s), 0 erreur(s), 0 ignorée(s), 1 sans objet.",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("jury page lacks %q", want)
		}
	}
	if strings.Contains(page, "C3.4</td><td>Diagnostiquer et résoudre un dysfonctionnement numérique</td><td class=\"num none\" colspan=\"2\">évaluée par le jury") {
		t.Error("an n/a competence reads as jury-only")
	}
}
