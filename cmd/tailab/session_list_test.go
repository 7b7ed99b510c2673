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
