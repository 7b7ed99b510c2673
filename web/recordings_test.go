package web_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/e2e"
)

// TestRecordings: a candidate's page lists their recordings (and no one
// else's); the playback page loads the vendored player under a CSP that
// allows its WebAssembly; the file is served by candidate and id from the
// index, never by a path: another candidate's id, encoded slashes and dots
// are 404; an indexed file gone from the disk is a 404 too.
func TestRecordings(t *testing.T) {
	srv, data := newServer(t, "")
	h := srv.Handler()
	dir := t.TempDir()
	cast := `{"version":2,"width":80,"height":24,"timestamp":1781250309}` + "\n" + `[0.5,"o","MARQUEUR\r\n"]` + "\n"
	file := filepath.Join(dir, "srv-1.cast")
	if err := os.WriteFile(file, []byte(cast), 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 6, 12, 8, 5, 9, 0, time.UTC)
	for _, r := range []checks.Recording{
		{ID: "srv-1", Candidate: "c01", Machine: "srv", Start: start, Duration: 75 * time.Second, Size: int64(len(cast)), File: file},
		{ID: "gone-1", Candidate: "c01", Machine: "pc1", Start: start.Add(time.Minute), File: filepath.Join(dir, "gone.cast")},
		{ID: "srv-9", Candidate: "c02", Machine: "srv", Start: start, File: file},
	} {
		if err := data.Results.SaveRecording(e2e.Session, r); err != nil {
			t.Fatal(err)
		}
	}
	r := get(t, h, "GET", "/c/c01")
	if r.code != 200 || !strings.Contains(r.body, `id="enregistrements"`) || !strings.Contains(r.body, `href="/c/c01/enregistrements/srv-1"`) ||
		!strings.Contains(r.body, "1 min 15 s") || strings.Contains(r.body, "srv-9") {
		t.Errorf("c01's page: %d\n%s", r.code, r.body)
	}
	r = get(t, h, "GET", "/c/c01/enregistrements/srv-1")
	if r.code != 200 || !strings.Contains(r.body, "/static/vendor/asciinema-player/asciinema-player.min.js") ||
		!strings.Contains(r.body, `data-src="/c/c01/enregistrements/srv-1/cast"`) || !strings.Contains(r.h.Get("Content-Security-Policy"), "'wasm-unsafe-eval'") {
		t.Errorf("playback page: %d %v\n%s", r.code, r.h, r.body)
	}
	if r := get(t, h, "GET", "/c/c01/enregistrements/srv-1/cast"); r.code != 200 || r.body != cast {
		t.Errorf("the cast: %d %q", r.code, r.body)
	}
	for _, p := range []string{"/c/c02/enregistrements/srv-1/cast", "/c/c01/enregistrements/srv-9/cast", "/c/c01/enregistrements/..%2F..%2Fstate.db/cast",
		"/c/c01/enregistrements/%2e%2e/cast", "/c/c01/enregistrements/gone-1/cast", "/c/c01/enregistrements/nope"} {
		if r := get(t, h, "GET", p); r.code != 404 || strings.Contains(r.body, "MARQUEUR") {
			t.Errorf("%s: %d", p, r.code)
		}
	}
	if r := get(t, h, "GET", "/static/vendor/asciinema-player/LICENSE"); r.code != 200 || !strings.Contains(r.body, "Apache") {
		t.Errorf("the player's licence: %d", r.code)
	}
}
