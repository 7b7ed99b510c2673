package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/e2e"
	"github.com/tailab/tailab/exam"
	"github.com/tailab/tailab/results"
	"github.com/tailab/tailab/web"
)

// juryServer is the fixture's dashboard with the jury's form, recording
// through exam.SetJury as `tailab serve` does.
func juryServer(t *testing.T) (*web.Server, *e2e.Data) {
	t.Helper()
	dir := t.TempDir()
	d, err := e2e.Populate(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg := d.Config()
	cfg.Jury = func(e results.JuryEntry) error { return exam.SetJury(dir, e2e.Session, e) }
	srv, err := web.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return srv, d
}

func post(t *testing.T, h http.Handler, path string, form url.Values, hdr ...string) response {
	t.Helper()
	req := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Result().Body)
	return response{rec.Code, rec.Result().Header, string(b)}
}

var total = regexp.MustCompile(`Total : <strong[^>]*>[^<]*`)

var csrfField = regexp.MustCompile(`name="csrf" value="([0-9a-f]{64})"`)

func TestJuryForm(t *testing.T) {
	srv, d := juryServer(t)
	h := srv.Handler()
	page := get(t, h, "GET", "/c/c02")
	m := csrfField.FindStringSubmatch(page.body)
	if page.code != 200 || m == nil || !strings.Contains(page.body, `data-item="support.accueil"`) || !strings.Contains(page.body, `data-check="ad.users"`) {
		t.Fatalf("candidate page without the jury's form (%d):\n%s", page.code, page.body)
	}
	if csp := page.h.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self'") {
		t.Errorf("CSP %q: the form cannot post", csp)
	}
	csrf := m[1]
	before := total.FindString(page.body)
	mark := func(points, author, note string) url.Values {
		return url.Values{"csrf": {csrf}, "kind": {"mark"}, "item": {"support.accueil"}, "points": {points}, "author": {author}, "note": {note}}
	}
	override := func(status, note string) url.Values {
		return url.Values{"csrf": {csrf}, "kind": {"override"}, "item": {"ad.users"}, "status": {status}, "author": {"Mme Martin"}, "note": {note}}
	}
	decide := func(ccp, d string) url.Values {
		return url.Values{"csrf": {csrf}, "kind": {"decision"}, "item": {ccp}, "decision": {d}, "author": {"Mme Martin"}, "note": {"panne non résolue"}}
	}
	refused := []struct {
		name string
		form url.Values
		hdr  []string
		code int
		want string
	}{
		{"no csrf", url.Values{"kind": {"mark"}, "item": {"support.accueil"}, "points": {"1"}, "author": {"x"}}, nil, 403, "Formulaire refusé"},
		{"forged csrf", func() url.Values { f := mark("1", "x", ""); f.Set("csrf", strings.Repeat("0", 64)); return f }(), nil, 403, "Formulaire refusé"},
		{"other origin", mark("1", "x", ""), []string{"Origin", "http://evil.example"}, 403, "Formulaire refusé"},
		{"cross-site", mark("1", "x", ""), []string{"Sec-Fetch-Site", "cross-site"}, 403, "Formulaire refusé"},
		{"above the scale", mark("3", "Mme Martin", ""), nil, 200, "un nombre entre 0 et 2"},
		{"not a number", mark("deux", "Mme Martin", ""), nil, 200, "un nombre entre 0 et 2"},
		{"no author", mark("1", "", ""), nil, 200, "Indiquez votre nom"},
		{"override without reason", override("pass", ""), nil, 200, "Indiquez la raison"},
		{"override to a third status", override("error", "x"), nil, 200, "réussi ou échec"},
		{"mark on an automated check", func() url.Values { f := mark("1", "x", ""); f.Set("item", "ad.users"); return f }(), nil, 200, "vérification automatique"},
		{"a decision on a CCP not assessed", decide("CCP1", "acquis"), nil, 200, "ni de CCP évalué « CCP1 »"},
		{"a third decision", decide("CCP3", "validé"), nil, 200, "acquis ou non acquis"},
		{"unknown item", func() url.Values { f := mark("1", "x", ""); f.Set("item", "nope"); return f }(), nil, 200, "pas de critère"},
	}
	for _, tc := range refused {
		r := post(t, h, "/c/c02/saisie", tc.form, tc.hdr...)
		if r.code != tc.code || !strings.Contains(r.body, tc.want) {
			t.Errorf("%s: %d, want %d and %q in\n%.300s", tc.name, r.code, tc.code, tc.want, r.body)
		}
	}
	if e, _ := d.Results.Jury(e2e.Session); len(e) != 0 {
		t.Fatalf("refused posts stored %v", e)
	}

	r := post(t, h, "/c/c02/saisie", mark("1,5", "Mme Martin", "reformulation claire"), "Origin", "http://example.com", "Sec-Fetch-Site", "same-origin")
	if r.code != http.StatusSeeOther || r.h.Get("Location") != "/c/c02?enregistre=support.accueil#saisie" {
		t.Fatalf("mark: %d %q\n%.500s", r.code, r.h.Get("Location"), r.body)
	}
	cookie, _, _ := strings.Cut(r.h.Get("Set-Cookie"), ";")
	if r = post(t, h, "/c/c02/saisie", override("pass", "comptes créés dans l'OU voisine")); r.code != http.StatusSeeOther {
		t.Fatalf("override: %d\n%.500s", r.code, r.body)
	}
	if r = post(t, h, "/c/c02/saisie", decide("CCP3", "non acquis")); r.code != http.StatusSeeOther {
		t.Fatalf("decision: %d\n%.500s", r.code, r.body)
	}
	entries, err := d.Results.Jury(e2e.Session)
	if err != nil || len(entries) != 3 || entries[0].Decision != "non acquis" || entries[1].Points != 1.5 || entries[1].Author != "Mme Martin" || entries[2].Status != checks.StatusPass {
		t.Fatalf("stored %+v, %v", entries, err)
	}
	log, err := d.State.AuditLog(e2e.Session)
	if err != nil {
		t.Fatal(err)
	}
	audited := 0
	for _, e := range log {
		if e.Action == "jury" && e.Candidate == "c02" && e.User == "Mme Martin" {
			audited++
		}
	}
	if audited != 3 {
		t.Errorf("%d jury entries audited by Mme Martin, want 3: %+v", audited, log)
	}

	// Every page shows them at once: the totals count the jury's points.
	page = get(t, h, "GET", "/c/c02?enregistre=support.accueil", "Cookie", cookie)
	for _, want := range []string{"Enregistré : support.accueil", "Noté par le jury (Mme Martin", "1,5/2 — reformulation claire",
		"Corrigé par le jury (Mme Martin", "verdict de la machine : échec 0/4", `value="Mme Martin"`,
		`Proposée par la règle : <strong class="proposed">non acquis</strong>`, "Retenue par le jury : non acquis (Mme Martin, "} {
		if !strings.Contains(page.body, want) {
			t.Errorf("candidate page after the entries: no %q", want)
		}
	}
	if after := total.FindString(page.body); after == before || !strings.Contains(after, "8,5/") {
		t.Errorf("total before the jury %q, after %q: want automatic + jury points (3 + 4 corrected + 1,5)", before, after)
	}
	if comp := get(t, h, "GET", "/c/c02/C2.2"); !strings.Contains(comp.body, `class="jury-note">Corrigé par le jury`) {
		t.Errorf("competence page: no correction shown")
	}
}

func TestJuryFormReadOnly(t *testing.T) {
	srv, _ := newServer(t, "")
	h := srv.Handler()
	if page := get(t, h, "GET", "/c/c02"); strings.Contains(page.body, `id="saisie"`) {
		t.Errorf("a read-only dashboard shows the jury's form")
	}
	if r := post(t, h, "/c/c02/saisie", url.Values{"kind": {"mark"}}); r.code != http.StatusNotFound {
		t.Errorf("post to a read-only dashboard: %d", r.code)
	}
}
