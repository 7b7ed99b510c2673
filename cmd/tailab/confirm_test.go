package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/tailab/tailab/labs"
)

// TestDownConfirmExitCodes drives `down` through the confirmation: without a
// terminal it needs --yes, while the exam window is open --force, each
// refusal exits 2 and leaves the session in place; accepted, it goes on to
// the provider (here an unknown one, so it stops there).
func TestDownConfirmExitCodes(t *testing.T) {
	dir, st := tpeSession(t, "nowhere", labs.Candidate{ID: "c01"}, labs.Candidate{ID: "c02"})
	null, err := os.Open(os.DevNull) // not a terminal, whatever runs the test
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	stdin := os.Stdin
	os.Stdin = null
	defer func() { os.Stdin = stdin }()
	run := func(args ...string) (int, string) {
		root := newRootCommand()
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetErr(&out)
		root.SetIn(null)
		root.SetArgs(append([]string{"--data-dir", dir, "-q"}, args...))
		err := root.Execute()
		if err != nil {
			out.WriteString(err.Error())
		}
		return exitCode(err), out.String()
	}
	passed := func(out string) bool { return strings.Contains(out, "nowhere") } // reached the provider
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"down", "--session", "juin", "-c", "c01"}, ExitUsage, "pass --yes"},
		{[]string{"down", "--session", "juin", "-c", "c01", "--yes"}, -1, "nowhere"},
		{[]string{"down", "--session", "juin"}, -1, "nowhere"},
		{[]string{"session", "open", "--session", "juin"}, ExitOK, ""},
		{[]string{"down", "--session", "juin", "-c", "c01", "--yes"}, ExitUsage, "exam window is open"},
		{[]string{"down", "--session", "juin"}, ExitUsage, "--force"},
		{[]string{"down", "--session", "juin", "-c", "c01", "--force"}, ExitUsage, "pass --yes"},
		{[]string{"down", "--session", "juin", "-c", "c01", "--force", "-y"}, -1, "nowhere"},
		{[]string{"session", "close", "--session", "juin", "--at", "+1s"}, ExitOK, ""},
	} {
		code, out := run(tc.args...)
		if tc.code == -1 { // accepted: fails later, at the unknown provider
			if !passed(out) {
				t.Errorf("%v: refused: %d %s", tc.args, code, out)
			}
			continue
		}
		if code != tc.code || !strings.Contains(out, tc.want) || passed(out) {
			t.Errorf("%v: exit %d %q, want %d with %q", tc.args, code, out, tc.code, tc.want)
		}
	}
	if s, err := st.Session("juin"); err != nil || len(s.Candidates) != 2 {
		t.Errorf("session after the refusals: %v %v", s, err)
	}
}
