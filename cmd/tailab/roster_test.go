package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/results"
)

// TestWindows1252Roster: a roster as French Excel saves it ("CSV séparateur
// point-virgule", Windows-1252, a N°;Nom;Prénom header) is read with its
// accents; the name is written "NOM Prénom" by validate, on the candidate's
// sheet and on the jury record.
func TestWindows1252Roster(t *testing.T) {
	dir := t.TempDir()
	roster := filepath.Join(dir, "liste.csv")
	// "Lefèvre", "Zoé", "Cœur", "Élodie" in Windows-1252 bytes.
	if err := os.WriteFile(roster, []byte("N\xb0;Nom;Pr\xe9nom\r\n1;Lef\xe8vre;Zo\xe9\r\n2;C\x9cur;\xc9lodie\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	out, _, code := runTailab(t, ctx, "validate", roster)
	for _, want := range []string{"ok (roster, 2 candidates, Windows-1252)", "fichier en Windows-1252", "LEFÈVRE Zoé", "CŒUR Élodie"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("validate: exit %d, output lacks %q:\n%s", code, want, out)
		}
	}
	_, stderr, code := runTailab(t, ctx, "validate", writeFile(t, dir, "bad.csv", "N°;Nom\n1;\n"))
	if code != ExitBadFile || !strings.Contains(stderr, "bad.csv:2: nom vide") {
		t.Errorf("bad roster: exit %d, %q", code, stderr)
	}

	// A session of that roster (as up records it), its sheets and a record.
	f, err := os.Open(roster)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := provision.ReadRoster(roster, f)
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	st, err := provision.OpenState(data)
	if err != nil {
		t.Fatal(err)
	}
	lab, err := labs.BuiltinSource("tpe-local")
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 6, 12, 8, 0, 0, 0, time.UTC)
	sess := &provision.Session{Name: "s1", Lab: "tpe-local", LabSource: "catalog:tpe-local", LabYAML: string(lab),
		Provider: "libvirt", CreatedAt: t0, StartedAt: t0, Candidates: r.Candidates}
	if err := st.SaveSession(sess); err != nil {
		t.Fatal(err)
	}
	c := r.Candidates[0]
	rep := &checks.Report{Session: "s1", Lab: "tpe-local", StartedAt: t0, FinishedAt: t0.Add(time.Hour),
		Candidates: []checks.CandidateReport{{ID: c.ID, LastName: c.LastName, FirstName: c.FirstName}}}
	rs, err := results.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rs.Save("s1", rep); err != nil {
		t.Fatal(err)
	}
	sheet, stderr, code := runTailab(t, ctx, "sheets", "--data-dir", data, "--session", "s1", "-o", "html", "--candidate", c.ID)
	if code != 0 || !strings.Contains(sheet, "<strong>Candidat :</strong> LEFÈVRE Zoé (1)") || !strings.Contains(sheet, `content:"LEFÈVRE Zoé — n° 1 — session s1"`) {
		t.Errorf("sheet: exit %d %s, name missing:\n%.1500s", code, stderr, sheet)
	}
	record, stderr, code := runTailab(t, ctx, "report", "--data-dir", data, "--session", "s1", "--candidate", c.ID)
	if code != 0 || !strings.Contains(record, ">LEFÈVRE Zoé<") || !strings.Contains(record, `content: "LEFÈVRE Zoé — n° 1 — session s1"`) {
		t.Errorf("record: exit %d %s, name missing", code, stderr)
	}
	if strings.Contains(sheet+record, "\ufffd") {
		t.Error("a replacement character: the roster was read in the wrong encoding")
	}
}

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
