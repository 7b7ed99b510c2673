package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/tailab/tailab/exam"
	"github.com/tailab/tailab/internal/errclass"
	"github.com/tailab/tailab/labs"
)

// TestEachCandidate: -c is repeatable for reset and snapshot; every
// candidate is acted on in the order given, a failure does not stop the
// others, and the joined error names each failing candidate (only when there
// are several: one candidate's message stays as it was).
func TestEachCandidate(t *testing.T) {
	boom := errclass.NotFoundf("no machine pc9")
	tests := []struct {
		candidates []string
		fail       map[string]bool
		wantOrder  string
		wantErr    string // "" = nil
	}{
		{[]string{"c01"}, nil, "c01", ""},
		{[]string{"c01"}, map[string]bool{"c01": true}, "c01", "no machine pc9"},
		{[]string{"c03", "c01", "c02"}, nil, "c03,c01,c02", ""},
		{[]string{"c01", "c02", "c03"}, map[string]bool{"c01": true, "c03": true}, "c01,c02,c03", "c01: no machine pc9\nc03: no machine pc9"},
	}
	for _, tt := range tests {
		var order []string
		err := exam.EachCandidate(tt.candidates, func(c string) error {
			order = append(order, c)
			if tt.fail[c] {
				return boom
			}
			return nil
		})
		if got := strings.Join(order, ","); got != tt.wantOrder {
			t.Errorf("%v: acted on %s, want %s", tt.candidates, got, tt.wantOrder)
		}
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%v: %v", tt.candidates, err)
		case tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr):
			t.Errorf("%v: error %v, want %q", tt.candidates, err, tt.wantErr)
		case tt.wantErr != "" && !errors.Is(err, boom) && errclass.Of(err) != errclass.NotFound:
			t.Errorf("%v: the class was lost: %v", tt.candidates, errclass.Of(err))
		}
	}
}

// TestRescueRefusesUnknownCandidateFirst: with several -c, an unknown one is
// refused before any candidate's machine is touched (OpenSession checks them
// all; the session has no provider a test could reach, so reaching the
// provider would fail differently).
func TestRescueRefusesUnknownCandidateFirst(t *testing.T) {
	dir, _ := tpeSession(t, "", labs.Candidate{ID: "c01"}, labs.Candidate{ID: "c02"})
	for _, args := range [][]string{
		{"reset", "-s", "juin", "-c", "c01", "-c", "c09", "--yes"},
		{"snapshot", "create", "-s", "juin", "-c", "c01,c09", "avant"},
	} {
		root := newRootCommand()
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetErr(&out)
		root.SetArgs(append([]string{"--data-dir", dir}, args...))
		err := root.Execute()
		if err == nil || !strings.Contains(err.Error(), `no candidate "c09"`) || errclass.Of(err) != errclass.NotFound {
			t.Errorf("%v: %v (%v), want not found c09", args, err, errclass.Of(err))
		}
	}
}
