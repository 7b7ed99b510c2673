package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/checks/referential"
	"github.com/tailab/tailab/checks/report"
	"github.com/tailab/tailab/results"
)

// JuryFunc records one thing the jury entered in the dashboard: the same
// library call as `tailab jury set|override` (exam.SetJury), which checks it
// against the latest grading, stores it and writes it to the audit log.
type JuryFunc func(results.JuryEntry) error

// The jury's form on a candidate's page: one form per criterion left to the
// jury (points, appreciation), one per CCP the subject assesses (the jury's
// decision beside the rule's proposal) and one per automated check (a
// correction: réussi / échec and its reason; the machine's verdict and
// evidence stay).
// Posts carry a per-server CSRF token and must come from the dashboard's own
// origin; the dashboard's token (when set) guards them like every page.

const (
	juryAuthorCookie = "tailab_jury_author" // the name last typed, to fill the next form
	maxAuthor        = 80
	maxNote          = 500
)

type juryFormItem struct {
	ID, Competence, Title, Max string
	Points, Note, Current      string // the mark entered, its note, and the line printed on the record
}

type juryFormCheck struct {
	ID, Competence, Title, Machine string
	Verdict                        string // the machine's verdict: "échec 0/4"
	Status, Note, Current          string // the jury's correction, when made
}

// juryFormDecision is a CCP the subject assesses: the rule's proposal and
// the jury's decision.
type juryFormDecision struct {
	CCP, Title, Proposed, Why string
	Decision, Note, Current   string
}

type juryForm struct {
	Action, CSRF, Author string
	Saved, Error         string
	Items                []juryFormItem
	Checks               []juryFormCheck
	Decisions            []juryFormDecision
}

// formMsgKey carries a refused entry's message to the candidate page rendered
// in answer to the post.
type formMsgKey struct{}

// newCSRF is the form token of one server run: an HMAC under a random key, so
// no other page can forge it and a restart expires open forms.
func newCSRF() string {
	key := make([]byte, 32)
	_, _ = rand.Read(key) // never fails (crypto/rand)
	m := hmac.New(sha256.New, key)
	m.Write([]byte("tailab-jury-form"))
	return hex.EncodeToString(m.Sum(nil))
}

// juryFormOf builds the form of a candidate's latest grading (nil when the
// dashboard is read-only); callers hold the read lock.
func (s *Server) juryFormOf(r *http.Request, l *latest) *juryForm {
	if s.cfg.Jury == nil {
		return nil
	}
	f := &juryForm{Action: candidateHref(l.Candidate.ID) + "/saisie", CSRF: s.csrf}
	if c, err := r.Cookie(juryAuthorCookie); err == nil {
		f.Author, _ = url.QueryUnescape(c.Value)
	}
	if msg, ok := r.Context().Value(formMsgKey{}).(string); ok {
		f.Error = msg
	} else if item := r.URL.Query().Get("enregistre"); item != "" {
		f.Saved = safeText(item)
	}
	for _, p := range report.Proposals(l.Report, &l.Candidate) {
		d := juryFormDecision{CCP: p.CCP, Title: p.Title, Proposed: p.Decision, Why: p.Why,
			Current: report.JuryDecisionText(p.Jury, s.cfg.Location)}
		if p.Jury != nil {
			d.Decision, d.Note = p.Jury.Decision, p.Jury.Note
		}
		f.Decisions = append(f.Decisions, d)
	}
	for _, res := range l.Candidate.Results {
		note := report.JuryNote(res, s.cfg.Location)
		switch {
		case res.Status == checks.StatusJury:
			it := juryFormItem{ID: res.CheckID, Competence: res.Competence, Title: safeText(res.Title),
				Max: report.FrenchPoints(res.MaxPoints), Current: note}
			if m := res.JuryMark; m != nil {
				it.Points, it.Note = report.FrenchPoints(m.Points), m.Note
			}
			f.Items = append(f.Items, it)
		case res.Status == checks.StatusNA:
		default:
			ch := juryFormCheck{ID: res.CheckID, Competence: res.Competence, Title: safeText(res.Title),
				Machine: safeText(res.Machine), Current: note}
			st, pts := res.Status, res.Points
			if o := res.Override; o != nil {
				st, pts = o.OriginalStatus, o.OriginalPoints
				ch.Status, ch.Note = string(o.Status), o.Note
			}
			ch.Verdict = report.StatusLabel(st) + " " + report.FrenchRatio(pts, res.MaxPoints)
			f.Checks = append(f.Checks, ch)
		}
	}
	return f
}

// saveJury takes one form's post: checked here in French for the jury,
// recorded through Config.Jury, then back to the candidate's page.
func (s *Server) saveJury(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Jury == nil {
		s.fail(w, http.StatusNotFound, "La saisie du jury n’est pas ouverte sur ce tableau de bord (lecture seule).")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.fail(w, http.StatusBadRequest, "Formulaire illisible.")
		return
	}
	if !sameOrigin(r) || !equalSecret(r.PostForm.Get("csrf"), s.csrf) {
		s.fail(w, http.StatusForbidden, "Formulaire refusé : il ne vient pas de ce tableau de bord, ou il a expiré (tableau de bord redémarré). Rechargez la page du candidat.")
		return
	}
	e, msg := s.juryEntryOf(r)
	if msg == "" {
		if err := s.cfg.Jury(e); err != nil {
			fmt.Fprintf(s.cfg.Log, "jury entry %s/%s by %s refused: %v\n", e.Candidate, e.Item, e.Author, err)
			msg = "Non enregistré : " + err.Error()
		}
	}
	if msg != "" {
		s.candidate(w, r.WithContext(context.WithValue(r.Context(), formMsgKey{}, msg)))
		return
	}
	fmt.Fprintf(s.cfg.Log, "jury entry %s/%s by %s recorded\n", e.Candidate, e.Item, e.Author)
	if _, err := s.refresh(); err != nil {
		fmt.Fprintf(s.cfg.Log, "read the store: %v\n", err)
	}
	http.SetCookie(w, &http.Cookie{Name: juryAuthorCookie, Value: url.QueryEscape(e.Author), Path: "/",
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	http.Redirect(w, r, candidateHref(e.Candidate)+"?enregistre="+url.QueryEscape(e.Item)+"#saisie", http.StatusSeeOther)
}

// sameOrigin refuses posts another site's page made. Browsers say it in
// Sec-Fetch-Site; else the Origin's host must be ours (the pages' no-referrer
// policy makes it "null" for our own forms, which the CSRF token then covers).
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin"
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		u, err := url.Parse(o)
		return err == nil && u.Host == r.Host
	}
	return true
}

// juryEntryOf reads and checks a post against the candidate's latest grading;
// the message says in French what to correct.
func (s *Server) juryEntryOf(r *http.Request) (results.JuryEntry, string) {
	form := func(k string) string { return strings.TrimSpace(r.PostForm.Get(k)) }
	e := results.JuryEntry{Candidate: r.PathValue("cand"), Item: form("item"), Author: form("author"), Note: form("note")}
	s.st.mu.RLock()
	l, ok := s.st.latest[e.Candidate]
	var res *checks.Result
	if ok && form("kind") == "decision" {
		for _, p := range report.Proposals(l.Report, &l.Candidate) {
			if p.CCP == e.Item {
				res = &checks.Result{CheckID: p.CCP} // assessed: a decision to take
			}
		}
	}
	if ok && res == nil {
		for i := range l.Candidate.Results {
			if l.Candidate.Results[i].CheckID == e.Item {
				res = &l.Candidate.Results[i]
			}
		}
	}
	var max float64
	var status checks.Status
	if res != nil {
		max, status = res.MaxPoints, res.Status
	}
	s.st.mu.RUnlock()
	switch {
	case !ok:
		return e, "Le candidat " + e.Candidate + " n’a pas encore été corrigé."
	case res == nil:
		return e, "Ce candidat n’a pas de critère, de vérification ni de CCP évalué « " + safeText(e.Item) + " » dans sa dernière correction."
	case e.Author == "" || utf8.RuneCountInString(e.Author) > maxAuthor || hasControl(e.Author, false):
		return e, fmt.Sprintf("Indiquez votre nom (membre du jury, %d caractères au plus) : il est enregistré avec la saisie.", maxAuthor)
	case utf8.RuneCountInString(e.Note) > maxNote || hasControl(e.Note, true):
		return e, fmt.Sprintf("L’appréciation fait au plus %d caractères, sans caractère de contrôle.", maxNote)
	}
	switch form("kind") {
	case "decision":
		e.Decision = form("decision")
		if !checks.ValidDecision(e.Decision) {
			return e, "Choisissez la décision du jury : acquis ou non acquis."
		}
	case "mark":
		if status != checks.StatusJury {
			return e, "« " + e.Item + " » est une vérification automatique : corrigez son verdict plutôt que de la noter."
		}
		p, err := strconv.ParseFloat(strings.Replace(form("points"), ",", ".", 1), 64)
		if err != nil || math.IsNaN(p) || p < 0 || p > max {
			return e, "Points de « " + e.Item + " » : un nombre entre 0 et " + report.FrenchPoints(max) + " (par exemple 1,5)."
		}
		e.Points = p
	case "override":
		if status == checks.StatusJury || status == checks.StatusNA {
			return e, "« " + e.Item + " » n’a pas de verdict automatique à corriger."
		}
		e.Status = checks.Status(form("status"))
		if e.Status != checks.StatusPass && e.Status != checks.StatusFail {
			return e, "Choisissez le verdict du jury : réussi ou échec."
		}
		if e.Note == "" {
			return e, "Indiquez la raison de la correction : elle est imprimée à côté du verdict de la machine."
		}
	default:
		return e, "Formulaire incomplet : rechargez la page du candidat."
	}
	return e, ""
}

// hasControl reports control characters (newlines and tabs allowed in notes).
func hasControl(s string, multiline bool) bool {
	return strings.ContainsFunc(s, func(c rune) bool {
		return unicode.IsControl(c) && !(multiline && (c == '\n' || c == '\t' || c == '\r'))
	})
}

// applyJury shows the jury's marks and corrections in every page: each
// candidate's latest grading is scored again from its stored results with
// the session's entries (the stored grading is never rewritten). An entry
// that no longer fits is logged and the machine's grading shown.
func (st *state) applyJury(entries []results.JuryEntry, log func(string, ...any)) {
	refs := map[string]*referential.Referential{}
	for id, l := range st.latest {
		c := l.Raw
		c.Results = slices.Clone(c.Results)
		c.Competences, c.CCPs = slices.Clone(c.Competences), slices.Clone(c.CCPs)
		if in, ok := results.JuryInput(entries, l.Key)[id]; ok {
			ref, seen := refs[l.Referential]
			if !seen {
				var err error
				if ref, err = referential.Load(l.Referential); err != nil {
					log("jury marks of %s: %v", id, err)
				}
				refs[l.Referential] = ref
			}
			if ref != nil {
				if err := checks.ApplyJury(ref, &c, in); err != nil {
					log("jury marks of %s: %v", id, err)
					c = l.Raw
				}
			}
		}
		l.Candidate = c
	}
}

// juryVersion changes whenever the jury enters or changes something.
func juryVersion(entries []results.JuryEntry) string {
	h := sha256.New()
	for _, e := range entries {
		fmt.Fprintf(h, "%s\x00%s\x00%g\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s\n", e.Candidate, e.Item, e.Points, e.Status, e.Decision, e.Grading, e.Note, e.Author, e.At)
	}
	return hex.EncodeToString(h.Sum(nil))
}
