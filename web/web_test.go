package web_test

import (
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/checks/referential"
	"github.com/tailab/tailab/e2e"
	"github.com/tailab/tailab/internal/secret"
	"github.com/tailab/tailab/results"
	"github.com/tailab/tailab/web"
)

func newServer(t *testing.T, token string) (*web.Server, *e2e.Data) {
	t.Helper()
	st, err := e2e.Populate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg := st.Config()
	cfg.Token = secret.New(token)
	srv, err := web.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return srv, st
}

type response struct {
	code int
	h    http.Header
	body string
}

func get(t *testing.T, h http.Handler, method, url string, hdr ...string) response {
	t.Helper()
	req := httptest.NewRequest(method, url, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Result().Body)
	return response{rec.Code, rec.Result().Header, string(b)}
}

func TestCheckListen(t *testing.T) {
	for _, tc := range []struct {
		addr  string
		token bool
		ok    bool
	}{
		{"127.0.0.1:8080", false, true},
		{"127.0.0.2:8080", false, true},
		{"[::1]:8080", false, true},
		{"localhost:8080", false, true},
		{"0.0.0.0:8080", false, false},
		{":8080", false, false},
		{"192.168.1.10:8080", false, false},
		{"exam-host:8080", false, false},
		{"0.0.0.0:8080", true, true},
		{":8080", true, true},
		{"127.0.0.1", false, false}, // no port
	} {
		err := web.CheckListen(tc.addr, tc.token)
		if (err == nil) != tc.ok {
			t.Errorf("CheckListen(%q, token %v) = %v, want ok %v", tc.addr, tc.token, err, tc.ok)
		}
		if err != nil && tc.ok == false && !strings.Contains(err.Error(), "127.0.0.1") {
			t.Errorf("CheckListen(%q): message %q does not say how to fix it", tc.addr, err)
		}
	}
}

func TestNewErrors(t *testing.T) {
	st, err := e2e.Populate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg := st.Config()
	cfg.Session = "nope"
	if _, err := web.New(cfg); err == nil || !strings.Contains(err.Error(), `session "nope"`) {
		t.Errorf("unknown session: %v", err)
	}
	cfg = st.Config()
	cfg.Token = secret.New("short")
	if _, err := web.New(cfg); err == nil {
		t.Error("a 5-character token was accepted")
	}
}

func TestPages(t *testing.T) {
	srv, _ := newServer(t, "")
	h := srv.Handler()
	for _, tc := range []struct {
		url  string
		code int
		want []string
		not  []string
	}{
		{"/", 200, []string{
			`data-candidate="c02" data-competence="C2.2" data-percent="0.0"`,
			`<a href="/c/c02/C2.2"><span class="pct">0,0 %</span>`,
			"LEFÈVRE Zoé", "NGUYỄN Thị Hương", `<script src="/static/refresh.js" defer></script>`,
		}, nil},
		{"/c/c02", 200, []string{"Candidat c02 — LEFÈVRE Zoé", `href="/c/c02/jury"`, "Empreinte SHA-256"}, nil},
		{"/c/c02/C2.2", 200, []string{
			"&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt; &amp; &lt;b&gt;gras&lt;/b&gt;",
			`\x1b[31mrouge`, "compte absent", "critique",
		}, []string{"<script>document.title", "<b>gras", "\x1b"}},
		{"/c/c02/C3.4/fault.dns-client?suite=tpe", 200, []string{"Jamais réussie", `id="history"`}, nil},
		{"/c/c02/jury", 200, []string{"Relevé d’évaluation", "LEFÈVRE Zoé"}, nil},
		{"/c/nobody", 404, []string{"Candidat inconnu"}, nil},
		{"/c/c02/C9.9", 404, []string{"Compétence inconnue"}, nil},
		{"/c/c02/C2.2/nope", 404, []string{"Vérification inconnue"}, nil},
		{"/nowhere", 404, []string{"Page introuvable"}, nil},
		{"/static/style.css", 200, []string{"--high"}, nil},
		{"/static/refresh.js", 200, []string{"If-None-Match"}, nil},
	} {
		r := get(t, h, "GET", tc.url)
		if r.code != tc.code {
			t.Errorf("GET %s: %d, want %d", tc.url, r.code, tc.code)
		}
		for _, w := range tc.want {
			if !strings.Contains(r.body, w) {
				t.Errorf("GET %s lacks %q", tc.url, w)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(r.body, n) {
				t.Errorf("GET %s holds %q", tc.url, n)
			}
		}
		if csp := r.h.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("GET %s: CSP %q", tc.url, csp)
		}
	}
	if r := get(t, h, "POST", "/"); r.code != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %d, want 405 (read-only)", r.code)
	}
}

func TestVersionAndRefresh(t *testing.T) {
	srv, st := newServer(t, "")
	h := srv.Handler()
	first := get(t, h, "GET", "/api/version")
	etag := first.h.Get("ETag")
	if first.code != 200 || etag == "" || !strings.Contains(first.body, `"reports":1`) {
		t.Fatalf("/api/version: %d %q %s", first.code, etag, first.body)
	}
	if r := get(t, h, "GET", "/api/version", "If-None-Match", etag); r.code != http.StatusNotModified {
		t.Errorf("unchanged version: %d, want 304", r.code)
	}
	page := get(t, h, "GET", "/")
	if r := get(t, h, "GET", "/", "If-None-Match", page.h.Get("ETag")); r.code != http.StatusNotModified {
		t.Errorf("unchanged grid: %d, want 304", r.code)
	}
	if changed, err := srv.Refresh(); err != nil || changed {
		t.Errorf("Refresh with nothing new = %v, %v", changed, err)
	}

	// c02 re-graded alone (grade --candidate c02): the others keep their
	// latest results.
	only := e2e.Grading(e2e.T0.Add(10*time.Minute), true)
	only.Candidates = []checks.CandidateReport{only.Candidates[1]}
	if err := st.Save(only); err != nil {
		t.Fatal(err)
	}
	if changed, err := srv.Refresh(); err != nil || !changed {
		t.Fatalf("Refresh after a new report = %v, %v", changed, err)
	}
	if r := get(t, h, "GET", "/api/version", "If-None-Match", etag); r.code != 200 || r.h.Get("ETag") == etag {
		t.Errorf("new version: %d, ETag %s", r.code, r.h.Get("ETag"))
	}
	grid := get(t, h, "GET", "/").body
	for _, want := range []string{
		`data-candidate="c02" data-competence="C2.2" data-percent="100.0"`,
		`data-candidate="c10" data-competence="C2.2" data-percent="42.9"`,
		`data-candidate="c01" data-competence="C2.2" data-percent="100.0"`,
		"2 correction(s)",
	} {
		if !strings.Contains(grid, want) {
			t.Errorf("grid after a partial re-grade lacks %q", want)
		}
	}
	hist := get(t, h, "GET", "/c/c02/C3.4/fault.dns-client?suite=tpe").body
	if !strings.Contains(hist, "Réussie depuis le 12/06/2026 14:13:07") || strings.Count(hist, "<tr data-status=") != 2 {
		t.Errorf("history after the fix:\n%s", hist)
	}
}

func TestToken(t *testing.T) {
	const token = "s3cret-token-for-tests"
	srv, _ := newServer(t, token)
	h := srv.Handler()
	basic := func(user, pass string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	}
	for _, tc := range []struct {
		name string
		hdr  []string
		code int
	}{
		{"none", nil, 401},
		{"bearer", []string{"Authorization", "Bearer " + token}, 200},
		{"bearer wrong", []string{"Authorization", "Bearer " + token + "x"}, 401},
		{"basic", []string{"Authorization", basic("jury", token)}, 200},
		{"basic wrong", []string{"Authorization", basic("jury", "nope")}, 401},
		{"basic garbage", []string{"Authorization", "Basic %%%"}, 401},
		{"raw token as cookie", []string{"Cookie", "tailab_dashboard=" + token}, 401},
	} {
		r := get(t, h, "GET", "/", tc.hdr...)
		if r.code != tc.code {
			t.Errorf("%s: %d, want %d", tc.name, r.code, tc.code)
		}
		if r.code == 401 && !strings.HasPrefix(r.h.Get("WWW-Authenticate"), "Basic") {
			t.Errorf("%s: no Basic challenge", tc.name)
		}
		if strings.Contains(r.body, token) {
			t.Errorf("%s: the token is in the page", tc.name)
		}
	}
	if r := get(t, h, "GET", "/c/c02?token=wrong"); r.code != 401 {
		t.Errorf("?token=wrong: %d", r.code)
	}
	r := get(t, h, "GET", "/c/c02?token="+token)
	if r.code != http.StatusSeeOther || r.h.Get("Location") != "/c/c02" {
		t.Fatalf("?token=: %d, Location %q", r.code, r.h.Get("Location"))
	}
	cookie := r.h.Get("Set-Cookie")
	if !strings.Contains(cookie, "HttpOnly") || !strings.Contains(cookie, "SameSite=Strict") || strings.Contains(cookie, token) {
		t.Errorf("cookie %q", cookie)
	}
	name, value, _ := strings.Cut(strings.Split(cookie, ";")[0], "=")
	if r := get(t, h, "GET", "/c/c02", "Cookie", name+"="+value); r.code != 200 {
		t.Errorf("with the cookie: %d", r.code)
	}
}

// TestNotApplicable: the incidents drawn for a candidate and the checks of the
// others ("sans objet") show on the candidate's pages.
func TestNotApplicable(t *testing.T) {
	srv, st := newServer(t, "")
	h := srv.Handler()
	rep := e2e.Grading(e2e.T0.Add(10*time.Minute), false)
	c := &rep.Candidates[1]
	c.Faults = []checks.Fault{{Name: "dns-client-errone", Title: "Le poste pc1 interroge un serveur DNS <inexistant>"}}
	c.Results = append(c.Results, checks.Result{
		CheckID: "pc2-passerelle", Suite: "tpe", Title: "Le poste pc2 sort par la box", Competence: "C3.4",
		Machine: "pc2", Probe: "ssh", Status: checks.StatusNA, MaxPoints: 2,
		Message: "sans objet : l'incident « passerelle-erronee » n'a pas été tiré pour ce candidat",
	})
	before := c.MaxPoints
	checks.Score(referential.MustLoad(rep.Referential), c)
	if c.MaxPoints != before || c.Counts.NA != 1 {
		t.Fatalf("n/a check counted: max %g → %g, counts %+v", before, c.MaxPoints, c.Counts)
	}
	if err := st.Save(rep); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Refresh(); err != nil {
		t.Fatal(err)
	}
	for url, wants := range map[string][]string{
		"/c/c02": {
			`Incidents tirés pour ce candidat : <strong>dns-client-errone</strong> (Le poste pc1 interroge un serveur DNS &lt;inexistant&gt;)`,
			"· sans objet 1</span>",
			`<span class="st st-na" title="sans objet">1</span>`,
		},
		"/c/c02/C3.4": {
			`<section class="check na" id="check-pc2-passerelle"`,
			`<span class="st st-na">sans objet</span>`,
			`<span class="pts">—</span>`,
		},
		"/c/c02/C3.4/pc2-passerelle?suite=tpe": {`<tr data-status="na"><td>`, `<td><span class="st st-na">sans objet</span></td><td class="num">—</td>`},
		"/c/c02/jury":                          {"Incidents injectés dans le lab du candidat", "dns-client-errone"},
		"/static/style.css":                    {".st-na"},
	} {
		r := get(t, h, "GET", url)
		if r.code != 200 {
			t.Errorf("GET %s: %d", url, r.code)
		}
		for _, w := range wants {
			if !strings.Contains(r.body, w) {
				t.Errorf("GET %s lacks %q", url, w)
			}
		}
	}
}

// TestJuryPageShowsMarks: the dashboard's record of a candidate shows the
// jury's marks and corrections entered since (`tailab jury`), with their
// author and note, the totals counting them.
func TestJuryPageShowsMarks(t *testing.T) {
	srv, d := newServer(t, "")
	g, err := d.Results.Latest(e2e.Session)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []results.JuryEntry{
		{Candidate: "c02", Item: "support.accueil", Points: 2, Note: "accueil soigné", Author: "mme.dupont"},
		{Candidate: "c02", Item: "ad.users", Status: checks.StatusPass, Grading: g.Key, Note: "OU voisine acceptée", Author: "m.martin"},
	} {
		if err := d.Results.SaveJury(e2e.Session, e); err != nil {
			t.Fatal(err)
		}
	}
	r := get(t, srv.Handler(), "GET", "/c/c02/jury")
	for _, want := range []string{"Noté par le jury (mme.dupont", "accueil soigné", "Corrigé par le jury (m.martin", "OU voisine acceptée — verdict de la machine : échec 0/4"} {
		if r.code != 200 || !strings.Contains(r.body, want) {
			t.Errorf("GET /c/c02/jury (%d) lacks %q", r.code, want)
		}
	}
}
