package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tailab/tailab/e2e"
	"github.com/tailab/tailab/exam"
)

// TestSessionListAll: a session taken down keeps its gradings; `session
// list` forgets it, `session list --all` shows it as down with its records,
// and `report` still renders them.
func TestSessionListAll(t *testing.T) {
	dir := t.TempDir()
	d, err := e2e.Populate(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	list := func(args ...string) string {
		t.Helper()
		out, stderr, code := runTailab(t, ctx, append([]string{"--data-dir", dir, "session", "list"}, args...)...)
		if code != 0 {
			t.Fatalf("session list %v: exit %d %s", args, code, stderr)
		}
		return out
	}
	if out := list(); !strings.Contains(out, e2e.Session) || !strings.Contains(out, "GRADINGS") {
		t.Errorf("session list before down:\n%s", out)
	}
	if err := d.State.DeleteSession(e2e.Session); err != nil { // what down leaves
		t.Fatal(err)
	}
	if out := list(); strings.Contains(out, e2e.Session) {
		t.Errorf("session list shows a session that is down:\n%s", out)
	}
	if out := list("--all"); !strings.Contains(out, e2e.Session) || !strings.Contains(out, "down (records kept)") || !strings.Contains(out, "tpe-local") {
		t.Errorf("session list --all:\n%s", out)
	}
	var rows []exam.SessionRow
	if err := json.Unmarshal([]byte(list("-a", "-o", "json")), &rows); err != nil || len(rows) != 1 || !rows[0].Down || rows[0].Gradings != 1 || rows[0].Candidates != 3 {
		t.Errorf("session list --all -o json: %+v %v", rows, err)
	}
	if out, stderr, code := runTailab(t, ctx, "--data-dir", dir, "report", "-s", e2e.Session, "-o", "csv"); code != 0 || !strings.Contains(out, "Lefèvre") {
		t.Errorf("report of a session that is down: exit %d %s\n%s", code, stderr, out)
	}
}

// TestDetailsOf: --details shows every candidate's details after the
// summary, --details=c02 c02's alone.
func TestDetailsOf(t *testing.T) {
	dir := t.TempDir()
	if _, err := e2e.Populate(dir); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		flag      string
		want, not []string
	}{
		{"--details", []string{"Candidat c01 — ", "Candidat c02 — ", "Candidat c10 — "}, nil},
		{"--details=c02", []string{"Candidat c02 — ", "À revoir"}, []string{"Candidat c01 — ", "Candidat c10 — "}},
		{"--details=c01,c10", []string{"Candidat c01 — ", "Candidat c10 — "}, []string{"Candidat c02 — "}},
	} {
		out, stderr, code := runTailab(t, context.Background(), "--data-dir", dir, "--no-color", "report", "-s", e2e.Session, "-o", "table", tc.flag)
		if code != 0 {
			t.Fatalf("%s: exit %d %s", tc.flag, code, stderr)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: no %q in\n%s", tc.flag, w, out)
			}
		}
		for _, w := range tc.not {
			if strings.Contains(out, w) {
				t.Errorf("%s: %q shown", tc.flag, w)
			}
		}
	}
}
