package exam

import (
	"testing"

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
