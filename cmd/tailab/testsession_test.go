package main

import (
	"testing"

	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
)

// tpeSession saves session "juin" of the built-in tpe-local with candidates
// in a fresh data dir, as `up` would have left it (no machine): the verbs
// that read a session are driven against it. It returns the data dir and the
// state.
func tpeSession(t *testing.T, provider string, candidates ...labs.Candidate) (string, *provision.State) {
	t.Helper()
	dir := t.TempDir()
	st, err := provision.OpenState(dir)
	if err != nil {
		t.Fatal(err)
	}
	src, err := labs.BuiltinSource("tpe-local")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SaveSession(&provision.Session{Name: "juin", Lab: "tpe-local", LabSource: "catalog:tpe-local", LabYAML: string(src),
		Provider: provider, Candidates: candidates}); err != nil {
		t.Fatal(err)
	}
	return dir, st
}
