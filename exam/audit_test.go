package exam

import (
	"testing"

	"github.com/tailab/tailab/internal/audit"
	"github.com/tailab/tailab/internal/errclass"
	"github.com/tailab/tailab/provision"
)

// TestAuditLog: an unknown session is NotFound, a known one with an empty log
// is an empty (non-nil) list, entries come back in order.
func TestAuditLog(t *testing.T) {
	dir := t.TempDir()
	if _, err := AuditLog(dir, "nosuch"); errclass.Of(err) != errclass.NotFound {
		t.Errorf("unknown session: %v (class %v), want NotFound", err, errclass.Of(err))
	}
	if _, err := AuditLog(dir, ""); errclass.Of(err) != errclass.Usage {
		t.Errorf("no session: %v, want a usage error", err)
	}
	st, err := provision.OpenState(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Audit("s1", provision.AuditEntry{Action: "reset", Candidate: "c01"}, provision.AuditEntry{Action: "jury", Candidate: "c02"}); err != nil {
		t.Fatal(err)
	}
	log, err := AuditLog(dir, "s1")
	if err != nil || len(log) != 2 || log[0].Action != "reset" || log[1].Action != "jury" {
		t.Errorf("AuditLog = %+v, %v; want reset then jury", log, err)
	}
}

// TestAuditFacts: an entry written with typed facts alone reads back with its
// English line filled in and its facts handed to the report; an entry of the
// old form (its English line alone) reads back as it was written.
func TestAuditFacts(t *testing.T) {
	st, err := provision.OpenState(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Audit("s1",
		provision.AuditEntry{Action: "exec", Candidate: "c01", Machine: "srv", Facts: &audit.Facts{Kind: audit.Exec, Command: "ip a"}},
		provision.AuditEntry{Action: "exec", Candidate: "c01", Machine: "srv", Detail: "ended: exit status 2"},
	); err != nil {
		t.Fatal(err)
	}
	ivs, err := Interventions(st, "s1")
	if err != nil || len(ivs) != 2 {
		t.Fatalf("Interventions = %+v, %v", ivs, err)
	}
	if ivs[0].Detail != "command: ip a" || ivs[0].Facts == nil || ivs[0].Facts.Command != "ip a" {
		t.Errorf("typed entry read back as %+v (facts %+v)", ivs[0], ivs[0].Facts)
	}
	if ivs[1].Detail != "ended: exit status 2" || ivs[1].Facts != nil {
		t.Errorf("old entry read back as %+v", ivs[1])
	}
}

// TestDownSummary: down names what it removed, read back from the state.
func TestDownSummary(t *testing.T) {
	st, err := provision.OpenState(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SaveSession(&provision.Session{Name: "s1"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		session    string
		candidates []string
		want       string
	}{
		{"s1", nil, "session s1: removed"},
		{"s1", []string{"c02"}, "session s1: candidate c02 removed (the session stays, with its other candidates)"},
		{"s1", []string{"c02", "c03"}, "session s1: candidates c02, c03 removed (the session stays, with its other candidates)"},
		{"gone", []string{"c02"}, "session gone: removed"}, // its last candidate: the session went with it
	} {
		if got := DownSummary(st, tc.session, tc.candidates); got != tc.want {
			t.Errorf("DownSummary(%s, %v) = %q, want %q", tc.session, tc.candidates, got, tc.want)
		}
	}
}
