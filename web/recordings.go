package web

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"os"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/checks/report"
)

// The candidates' terminal recordings (the gateway's asciicast files, indexed
// in the results store): listed on the candidate's page, played back on a
// page of their own with the vendored asciinema-player. A recording is found
// by candidate and id in the index, never by a path the request names.

// recordingRow is one recording on the candidate's page.
type recordingRow struct {
	report.RecordingLine
	Href string // its playback page
}

// recordingsOf lists a candidate's recordings for the candidate's page.
func (s *Server) recordingsOf(candidate string) []recordingRow {
	recs, err := s.cfg.Results.Recordings(s.cfg.Session, candidate)
	if err != nil {
		fmt.Fprintf(s.cfg.Log, "recordings of %s: %v\n", candidate, err)
		return nil
	}
	var out []recordingRow
	for _, l := range report.RecordingLines(recs, candidate, s.cfg.Location) {
		out = append(out, recordingRow{l, recordingHref(candidate, l.ID)})
	}
	return out
}

// playbackPage is a standalone page (not the layout: the refresh script would
// swap the player away when a grading arrives).
var playbackPage = template.Must(template.ParseFS(templateFS, "templates/recording.tmpl"))

type playback struct {
	Session, Candidate string
	report.RecordingLine
	Src string
}

// recording serves /c/{cand}/enregistrements/{rec}: the player.
func (s *Server) recording(w http.ResponseWriter, r *http.Request) {
	cand, id := r.PathValue("cand"), r.PathValue("rec")
	rec, err := s.cfg.Results.Recording(s.cfg.Session, cand, id)
	if err != nil {
		s.fail(w, http.StatusNotFound, "Enregistrement introuvable.")
		return
	}
	lines := report.RecordingLines([]checks.Recording{rec}, "", s.cfg.Location)
	var buf bytes.Buffer
	err = playbackPage.Execute(&buf, playback{Session: s.cfg.Session, Candidate: cand, RecordingLine: lines[0],
		Src: recordingHref(cand, id) + "/cast"})
	if err != nil {
		fmt.Fprintf(s.cfg.Log, "recording page: %v\n", err)
		http.Error(w, "erreur interne", http.StatusInternalServerError)
		return
	}
	// the player sets its elements' sizes in style attributes, and its
	// terminal emulator is WebAssembly (compiled, never eval'd text)
	w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; font-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(buf.Bytes())
}

// recordingCast serves the asciicast file of a recording.
func (s *Server) recordingCast(w http.ResponseWriter, r *http.Request) {
	rec, err := s.cfg.Results.Recording(s.cfg.Session, r.PathValue("cand"), r.PathValue("rec"))
	if err != nil {
		http.Error(w, "enregistrement introuvable", http.StatusNotFound)
		return
	}
	f, err := os.Open(rec.File)
	if err != nil {
		fmt.Fprintf(s.cfg.Log, "recording %s/%s: %v\n", rec.Candidate, rec.ID, err)
		http.Error(w, "fichier de l’enregistrement illisible", http.StatusNotFound)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		http.Error(w, "fichier de l’enregistrement illisible", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/x-asciicast")
	http.ServeContent(w, r, "", fi.ModTime(), f)
}

func recordingHref(candidate, id string) string {
	return candidateHref(candidate) + "/enregistrements/" + url.PathEscape(id)
}
