package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/tailab/tailab/labs"
)

// TestCompletionOffersSessionsAndCandidates drives cobra's hidden __complete
// command, as the shell scripts do.
func TestCompletionOffersSessionsAndCandidates(t *testing.T) {
	dir, _ := tpeSession(t, "", labs.Candidate{ID: "c01", LastName: "Martin", FirstName: "Léa"}, labs.Candidate{ID: "c02"})
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"__complete", "--data-dir", dir, "grade", "--session", ""}, []string{"juin\ttpe-local"}},
		{[]string{"__complete", "--data-dir", dir, "down", "--session", "juin", "--candidate", ""}, []string{"c01\tMARTIN Léa", "c02"}},
		{[]string{"__complete", "--data-dir", dir, "up", ""}, []string{"tpe-local\t"}},
		{[]string{"__complete", "--data-dir", dir, "grade", "-c", "c01", "-o", ""}, []string{"csv\n", "xlsx\n", "table\n"}},
		{[]string{"__complete", "--data-dir", dir, "report", "-o", ""}, []string{"junit\n"}},
		// The lab's machines for --machine (ssh, exec, reset, snapshot).
		{[]string{"__complete", "--data-dir", dir, "ssh", "-s", "juin", "-c", "c01", "--machine", ""}, []string{"srv\tserver", "pc1\tclient"}},
		{[]string{"__complete", "--data-dir", dir, "snapshot", "revert", "-s", "juin", "-c", "c01", "-m", ""}, []string{"srv\tserver"}},
	}
	for _, tt := range tests {
		root := newRootCommand()
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetArgs(tt.args)
		if err := root.Execute(); err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		for _, w := range tt.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%v: completion %q lacks %q", tt.args[3:], out.String(), w)
			}
		}
	}
}
