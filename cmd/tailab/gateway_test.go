package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/tailab/tailab/gateway"
	"github.com/tailab/tailab/internal/store"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
)

// TestSessionOpenCloseAndRotate drives `session open|close` and `access
// --rotate`: the window is stored and audited, a rotation changes the
// password, and an unknown session is a usage error.
func TestSessionOpenCloseAndRotate(t *testing.T) {
	dir := t.TempDir()
	st, err := provision.OpenState(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SaveSession(&provision.Session{Name: "juin", Lab: "tpe-local",
		Candidates: []labs.Candidate{{ID: "c01"}, {ID: "c02"}}}); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, error) {
		root := newRootCommand()
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetErr(&out)
		root.SetArgs(append([]string{"--data-dir", dir, "-q"}, args...))
		err := root.Execute()
		return out.String(), err
	}
	if _, err := run("session", "close", "--session", "juin"); err == nil || !strings.Contains(err.Error(), "never opened") {
		t.Errorf("close before open: %v", err)
	}
	if out, err := run("session", "open", "--session", "juin"); err != nil || !strings.Contains(out, "opens") {
		t.Fatalf("open: %v %s", err, out)
	}
	if _, err := run("session", "close", "--session", "juin", "--at", "+2h"); err != nil {
		t.Fatal(err)
	}
	gs, _ := store.Open(dir)
	w, err := gateway.LoadWindow(gs, "juin")
	if err != nil || w.At(time.Now()) != gateway.Open || w.At(time.Now().Add(3*time.Hour)) != gateway.Closed {
		t.Errorf("window %+v %v", w, err)
	}
	if _, err := run("session", "open", "--session", "nope"); err == nil {
		t.Error("open of an unknown session")
	}
	before, _ := gateway.Passwords(gs, "juin", []string{"c01"})
	out, err := run("access", "--session", "juin", "--rotate", "--candidate", "c01")
	if err != nil || !strings.HasPrefix(out, "c01\t") {
		t.Fatalf("rotate: %v %q", err, out)
	}
	after, _ := gateway.Passwords(gs, "juin", []string{"c01"})
	if after["c01"].Reveal() == before["c01"].Reveal() || !strings.Contains(out, after["c01"].Reveal()) {
		t.Error("rotate did not change or print the password")
	}
	if _, err := run("access", "--session", "juin", "--rotate"); err == nil {
		t.Error("rotate without --candidate")
	}
	log, _ := st.AuditLog("juin")
	var actions []string
	for _, e := range log {
		actions = append(actions, e.Action+" "+e.Detail)
	}
	joined := strings.Join(actions, "\n")
	for _, want := range []string{"session open at", "session close at", "access gateway password rotated"} {
		if !strings.Contains(joined, want) {
			t.Errorf("audit log lacks %q:\n%s", want, joined)
		}
	}
}
