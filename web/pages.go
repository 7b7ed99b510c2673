package web

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"time"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/checks/report"
	"github.com/tailab/tailab/results"
)

//go:embed templates/*.tmpl
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// cellArgs carries a grid cell with its coordinates to the "cell" template.
type cellArgs struct {
	Candidate, Column string
	Cell              cell
}

var funcs = template.FuncMap{
	"cellArgs": func(cand, col string, c cell) cellArgs { return cellArgs{cand, col, c} },
}

// pages are parsed once: the layout plus one file per page.
var pages = func() map[string]*template.Template {
	out := map[string]*template.Template{}
	for _, name := range []string{"grid", "candidate", "competence", "check", "error"} {
		out[name] = template.Must(template.New("layout.tmpl").Funcs(funcs).ParseFS(templateFS, "templates/layout.tmpl", "templates/partials.tmpl", "templates/jury_form.tmpl", "templates/recordings.tmpl", "templates/"+name+".tmpl"))
	}
	return out
}()

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /{$}", s.grid)
	mux.HandleFunc("GET /api/version", s.apiVersion)
	mux.HandleFunc("GET /c/{cand}", s.candidate)
	mux.HandleFunc("GET /c/{cand}/jury", s.jury)
	mux.HandleFunc("POST /c/{cand}/saisie", s.saveJury)
	mux.HandleFunc("GET /c/{cand}/enregistrements/{rec}", s.recording)
	mux.HandleFunc("GET /c/{cand}/enregistrements/{rec}/cast", s.recordingCast)
	mux.HandleFunc("GET /c/{cand}/{comp}", s.competence)
	mux.HandleFunc("GET /c/{cand}/{comp}/{check}", s.check)
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, http.StatusNotFound, "Page introuvable.")
	})
	return securityHeaders(s.withAuth(mux))
}

// page is what the layout needs.
type page struct {
	Title, Session, Lab, Version string
	PollMS                       int64
	JuryForm                     bool // the jury enters marks here (Config.Jury)
	GradedAt                     string
	Reports                      int
	Crumbs                       []crumb
	Body                         any
}

type crumb struct{ Href, Label string }

func (s *Server) newPage(title string, body any, crumbs ...crumb) page {
	p := page{
		Title: title, Session: s.cfg.Session, Version: s.st.version, JuryForm: s.cfg.Jury != nil,
		PollMS: s.cfg.Poll.Milliseconds(), Reports: len(s.st.keys),
		GradedAt: frTime(s.st.lastAt, s.cfg.Location), Body: body,
		Crumbs: append([]crumb{{"/", "Session " + s.cfg.Session}}, crumbs...),
	}
	if s.st.session != nil {
		p.Lab = s.st.session.Lab
	}
	for _, l := range s.st.latest {
		if p.Lab == "" {
			p.Lab = l.Lab
		}
	}
	return p
}

// render executes a page into a buffer (a template error never sends half a
// page), with the version as a weak ETag.
func (s *Server) render(w http.ResponseWriter, r *http.Request, name string, p page) {
	etag := `W/"` + p.Version + `"`
	if r.Header.Get("If-None-Match") == etag && name != "error" {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	var buf bytes.Buffer
	if err := pages[name].Execute(&buf, p); err != nil {
		fmt.Fprintf(s.cfg.Log, "render %s: %v\n", name, err)
		http.Error(w, "erreur interne", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("ETag", etag)
	w.Write(buf.Bytes())
}

func (s *Server) fail(w http.ResponseWriter, code int, msg string) {
	s.st.mu.RLock()
	p := s.newPage("Erreur", msg)
	s.st.mu.RUnlock()
	var buf bytes.Buffer
	_ = pages["error"].Execute(&buf, p)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

// apiVersion answers the pages' refresh script: {"version": ..., "reports": N}
// with the version as ETag (304 when unchanged).
func (s *Server) apiVersion(w http.ResponseWriter, r *http.Request) {
	s.st.mu.RLock()
	v, n, at := s.st.version, len(s.st.keys), s.st.lastAt
	s.st.mu.RUnlock()
	etag := `"` + v + `"`
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	last := ""
	if !at.IsZero() {
		last = at.UTC().Format(time.RFC3339Nano)
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"version": v, "reports": n, "last_grading": last})
}

// --- the grid ---

type gridRow struct {
	ID, Name, Href, GradedAt string
	Graded                   bool
	Cells, CCPCells          []cell
	Total                    cell
	Errors, Jury             int
	Mark                     string // report.InterventionMark when the machines were touched after the exam opened
}

type gridBody struct {
	Columns, CCPColumns []column
	Rows                []gridRow
}

func (s *Server) grid(w http.ResponseWriter, r *http.Request) {
	s.st.mu.RLock()
	defer s.st.mu.RUnlock()
	b := gridBody{}
	b.Columns, b.CCPColumns = columns(&s.st)
	for _, c := range s.st.roster() {
		row := gridRow{ID: c.ID, Name: fullName(c.LastName, c.FirstName), Href: candidateHref(c.ID)}
		l, ok := s.st.latest[c.ID]
		if ok {
			cr := &l.Candidate
			row.Graded, row.GradedAt = true, frTime(l.At, s.cfg.Location)
			if row.Name == "" {
				row.Name = fullName(cr.LastName, cr.FirstName)
			}
			row.Total = scoreCell(cr.Points, cr.MaxPoints, pct(cr.Points, cr.MaxPoints), false)
			row.Errors, row.Jury = cr.Counts.Error, cr.Counts.Jury
			if len(report.LabInterventions(l.Report, c.ID, s.cfg.Location)) > 0 {
				row.Mark = report.InterventionMark
			}
		}
		comps := map[string]checks.CompetenceScore{}
		ccps := map[string]checks.CCPScore{}
		if ok {
			for _, sc := range l.Candidate.Competences {
				comps[sc.ID] = sc
			}
			for _, sc := range l.Candidate.CCPs {
				ccps[sc.ID] = sc
			}
		}
		for _, col := range b.Columns {
			sc, ok := comps[col.ID]
			if !ok {
				row.Cells = append(row.Cells, cell{Missing: true, Band: "none"})
				continue
			}
			ce := scoreCell(sc.Points, sc.MaxPoints, sc.Percent, sc.Capped)
			ce.Href = competenceHref(c.ID, col.ID)
			row.Cells = append(row.Cells, ce)
		}
		for _, col := range b.CCPColumns {
			sc, ok := ccps[col.ID]
			if !ok {
				row.CCPCells = append(row.CCPCells, cell{Missing: true, Band: "none"})
				continue
			}
			row.CCPCells = append(row.CCPCells, scoreCell(sc.Points, sc.MaxPoints, sc.Percent, false))
		}
		b.Rows = append(b.Rows, row)
	}
	s.render(w, r, "grid", s.newPage("Grille de la session "+s.cfg.Session, b))
}

func pct(points, max float64) float64 {
	if max <= 0 {
		return 0
	}
	return 100 * points / max
}

// --- a candidate ---

type compRow struct {
	ID, Title, CCP, Href string
	cell
	Counts    checks.Counts
	JuryItems []string
	Covered   bool
}

type candidateBody struct {
	ID, Name, GradedAt, Key, JuryHref, Digest string
	Total                                     cell
	Counts                                    checks.Counts
	Faults                                    []checks.Fault // drawn incidents, when known
	Competences                               []compRow
	CCPs                                      []compRow
	Mark                                      string
	Interventions                             []interventionRow // on its machines after the exam opened
	Jury                                      *juryForm         // nil: read-only dashboard
	Recordings                                []recordingRow    // the gateway's recordings of its terminals
}

// interventionRow is one intervention on the candidate's page.
type interventionRow struct{ At, User, Action, Machine, Detail string }

// lookup finds a candidate's latest grading; false (after a 404 page) when none.
func (s *Server) lookup(w http.ResponseWriter, r *http.Request) (*latest, bool) {
	id := r.PathValue("cand")
	l, ok := s.st.latest[id]
	if !ok {
		for _, c := range s.st.roster() {
			if c.ID == id {
				s.failLocked(w, http.StatusNotFound, "Le candidat "+id+" n’a pas encore été corrigé.")
				return nil, false
			}
		}
		s.failLocked(w, http.StatusNotFound, "Candidat inconnu : "+id)
		return nil, false
	}
	return l, true
}

// failLocked is fail for handlers already holding the read lock.
func (s *Server) failLocked(w http.ResponseWriter, code int, msg string) {
	p := s.newPage("Erreur", msg)
	var buf bytes.Buffer
	_ = pages["error"].Execute(&buf, p)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

func (s *Server) candidate(w http.ResponseWriter, r *http.Request) {
	s.st.mu.RLock()
	defer s.st.mu.RUnlock()
	l, ok := s.lookup(w, r)
	if !ok {
		return
	}
	c := &l.Candidate
	b := candidateBody{
		ID: c.ID, Name: fullName(c.LastName, c.FirstName), GradedAt: frTime(l.At, s.cfg.Location), Key: l.Key,
		Total:  scoreCell(c.Points, c.MaxPoints, pct(c.Points, c.MaxPoints), false),
		Counts: c.Counts, JuryHref: candidateHref(c.ID) + "/jury",
	}
	for _, f := range c.Faults {
		b.Faults = append(b.Faults, checks.Fault{Name: safeText(f.Name), Title: safeText(f.Title)})
	}
	b.Digest, _ = report.EvidenceDigest(l.Report, c.ID)
	for _, in := range report.LabInterventions(l.Report, c.ID, s.cfg.Location) {
		b.Mark = report.InterventionMark
		b.Interventions = append(b.Interventions, interventionRow{
			At: frTime(in.Time, s.cfg.Location), User: in.User, Action: in.Action, Machine: in.Machine, Detail: in.Detail,
		})
	}
	for _, sc := range c.Competences {
		row := compRow{
			ID: sc.ID, Title: sc.Title, CCP: sc.CCP, Counts: sc.Counts, JuryItems: sc.JuryItems,
			cell:    scoreCell(sc.Points, sc.MaxPoints, sc.Percent, sc.Capped),
			Covered: sc.MaxPoints > 0 || sc.Counts != (checks.Counts{}),
		}
		if row.Covered {
			row.Href = competenceHref(c.ID, sc.ID)
		}
		b.Competences = append(b.Competences, row)
	}
	for _, sc := range c.CCPs {
		row := compRow{ID: sc.ID, Title: sc.Title, cell: scoreCell(sc.Points, sc.MaxPoints, sc.Percent, false)}
		for _, comp := range b.Competences {
			row.Covered = row.Covered || (comp.CCP == sc.ID && comp.Covered)
		}
		b.CCPs = append(b.CCPs, row)
	}
	b.Jury = s.juryFormOf(r, l)
	b.Recordings = s.recordingsOf(c.ID)
	title := "Candidat " + c.ID
	s.render(w, r, "candidate", s.newPage(title, b, crumb{"", title}))
}

// --- a competence ---

type checkRow struct {
	checks.Result
	Label, PointsText, Href string
	JuryNote                string // the jury's mark or correction, with the machine's verdict
	History                 history
}

type competenceBody struct {
	Candidate, Name, ID, Title, GradedAt string
	cell
	Counts    checks.Counts
	JuryItems []string
	Checks    []checkRow
}

func (s *Server) checkRow(cand string, res checks.Result) checkRow {
	return checkRow{
		Result: cleanResult(res), Label: statusLabel(res.Status), PointsText: resultPoints(res),
		Href: checkHref(cand, res.Competence, res), JuryNote: report.JuryNote(res, s.cfg.Location),
		History: historyOf(s.st.history[checkKey{cand, res.Suite, res.CheckID}], s.cfg.Location),
	}
}

func (s *Server) competence(w http.ResponseWriter, r *http.Request) {
	s.st.mu.RLock()
	defer s.st.mu.RUnlock()
	l, ok := s.lookup(w, r)
	if !ok {
		return
	}
	c := &l.Candidate
	compID := r.PathValue("comp")
	var sc *checks.CompetenceScore
	for i := range c.Competences {
		if c.Competences[i].ID == compID {
			sc = &c.Competences[i]
		}
	}
	if sc == nil {
		s.failLocked(w, http.StatusNotFound, "Compétence inconnue pour ce candidat : "+compID)
		return
	}
	b := competenceBody{
		Candidate: c.ID, Name: fullName(c.LastName, c.FirstName), ID: sc.ID, Title: sc.Title,
		GradedAt: frTime(l.At, s.cfg.Location), Counts: sc.Counts, JuryItems: sc.JuryItems,
		cell: scoreCell(sc.Points, sc.MaxPoints, sc.Percent, sc.Capped),
	}
	for _, res := range c.Results {
		if res.Competence == compID {
			b.Checks = append(b.Checks, s.checkRow(c.ID, res))
		}
	}
	s.render(w, r, "competence", s.newPage(sc.ID+" — candidat "+c.ID, b,
		crumb{candidateHref(c.ID), "Candidat " + c.ID}, crumb{"", sc.ID}))
}

// --- a check ---

type checkBody struct {
	Candidate, Name, Competence, CompetenceTitle, GradedAt string
	Check                                                  checkRow
}

func (s *Server) check(w http.ResponseWriter, r *http.Request) {
	s.st.mu.RLock()
	defer s.st.mu.RUnlock()
	l, ok := s.lookup(w, r)
	if !ok {
		return
	}
	c := &l.Candidate
	compID, checkID, suite := r.PathValue("comp"), r.PathValue("check"), r.URL.Query().Get("suite")
	for _, res := range c.Results {
		if res.Competence != compID || res.CheckID != checkID || (suite != "" && res.Suite != suite) {
			continue
		}
		b := checkBody{
			Candidate: c.ID, Name: fullName(c.LastName, c.FirstName), Competence: compID,
			GradedAt: frTime(l.At, s.cfg.Location), Check: s.checkRow(c.ID, res),
		}
		for _, sc := range c.Competences {
			if sc.ID == compID {
				b.CompetenceTitle = sc.Title
			}
		}
		s.render(w, r, "check", s.newPage(checkID+" — candidat "+c.ID, b,
			crumb{candidateHref(c.ID), "Candidat " + c.ID}, crumb{competenceHref(c.ID, compID), compID}, crumb{"", checkID}))
		return
	}
	s.failLocked(w, http.StatusNotFound, "Vérification inconnue : "+compID+" / "+checkID)
}

// --- the jury page of a candidate (the `tailab report` document) ---

func (s *Server) jury(w http.ResponseWriter, r *http.Request) {
	s.st.mu.RLock()
	defer s.st.mu.RUnlock()
	l, ok := s.lookup(w, r)
	if !ok {
		return
	}
	var buf bytes.Buffer
	rep, err := s.cfg.Results.WithJury(s.cfg.Session, &results.Grading{Key: l.Key, Report: l.Report}) // the jury's marks
	if err == nil {
		rep, err = s.cfg.Results.WithRecordings(s.cfg.Session, rep)
	}
	if err == nil {
		j := &report.Jury{Opts: report.Options{Location: s.cfg.Location}, Candidates: []string{l.Candidate.ID}}
		err = j.Format(&buf, rep)
	}
	if err != nil {
		fmt.Fprintf(s.cfg.Log, "jury page: %v\n", err)
		http.Error(w, "erreur interne", http.StatusInternalServerError)
		return
	}
	// The jury page is a standalone document with its own inline print CSS.
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(buf.Bytes())
}

// cleanResult shows control characters of the candidate's output escaped.
func cleanResult(res checks.Result) checks.Result {
	res.Title, res.Message, res.Evidence = safeText(res.Title), safeText(res.Message), safeText(res.Evidence)
	res.Machine, res.Probe, res.CheckID = safeText(res.Machine), safeText(res.Probe), safeText(res.CheckID)
	if res.Expectations != nil {
		exps := make([]checks.Expectation, len(res.Expectations))
		for i, e := range res.Expectations {
			e.Field, e.Actual, e.Expected, e.Message = safeText(e.Field), safeText(e.Actual), safeText(e.Expected), safeText(e.Message)
			exps[i] = e
		}
		res.Expectations = exps
	}
	return res
}
