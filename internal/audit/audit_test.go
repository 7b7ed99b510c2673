package audit

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

// TestLegacyReadsEnglishBack: every kind of entry, written as Facts, reads back
// the same from its English line alone (the entries recorded before the Facts
// existed are read this way), and the English line is the one those entries
// carried.
func TestLegacyReadsEnglishBack(t *testing.T) {
	zero := 0
	for _, tc := range []struct {
		action  string
		facts   *Facts
		english string
	}{
		{"up", &Facts{Plan: &Plan{Create: 3, Keep: 1, Replace: 0, Remove: 2}}, "3 to create, 1 to keep, 0 to replace, 2 to remove"},
		{"up", Failure(2500*time.Millisecond, errors.New("libvirt: no pool")), "failed after 2.5s: libvirt: no pool"},
		{"down", &Facts{Candidates: []string{"c01", "c02"}}, "[c01 c02]"},
		{"down", &Facts{}, "[]"},
		{"snapshot", &Facts{Op: "create", Snapshot: "avant"}, "create avant"},
		{"snapshot", &Facts{Op: "delete", Snapshot: "avant"}, "delete avant"},
		{"revert", &Facts{Snapshot: "avant"}, "to avant"},
		{"session", &Facts{Outcome: Opened, At: time.Date(2026, 6, 2, 7, 0, 0, 0, time.UTC)}, "open at 2026-06-02T07:00:00Z"},
		{"session", &Facts{Outcome: Closed, At: time.Date(2026, 6, 2, 11, 0, 0, 0, time.UTC)}, "close at 2026-06-02T11:00:00Z"},
		{"close", &Facts{Outcome: Closed, Grace: "1m0s"}, "exam closed: session warned, closed in 1m0s"},
		{"login", &Facts{Outcome: Accepted, Door: "ssh", From: "10.0.0.5"}, "ssh from 10.0.0.5: accepted"},
		{"login", &Facts{Outcome: Refused, Door: "web", From: "10.0.0.5", Reason: "wrong login or password"}, "web from 10.0.0.5: refused: wrong login or password"},
		{"faults-kept", &Facts{Following: "reset", Faults: []Fault{{Name: "a", Reapplied: true, After: "present"}, {Name: "b", Repaired: true, After: "absent"}, {Name: "c", Repaired: true, After: "present"}, {Name: "d", After: "unknown"}}},
			"reset: a: re-applied, present; b: repaired before, left; c: repaired before, present after (the state restored); d: unknown"},
		{"faults-kept", &Facts{Following: "replace", Machines: []string{"srv", "pc1"}, Faults: []Fault{{Name: "a", Reapplied: true, After: "absent"}}}, "replace srv,pc1: a: re-applied, absent"},
		{"faults-kept", &Facts{Following: "restart", Machines: []string{"srv"}, Faults: []Fault{{Name: "a", Reapplied: true, After: "present"}}}, "restart srv: a: re-applied, present"},
		{"faults-kept", &Facts{Following: "restart srv, down+up", Faults: []Fault{{Name: "a", After: "present"}}}, "restart srv, down+up: a: present"},
		{"terminal", &Facts{Outcome: Opened, Kind: Shell, Door: "ssh", From: "10.0.0.5"}, "shell (ssh from 10.0.0.5)"},
		{"terminal", &Facts{Outcome: Opened, Kind: Exec, Command: "ip a", Door: "ssh", From: "10.0.0.5"}, "exec ip a (ssh from 10.0.0.5)"},
		{"terminal", &Facts{Outcome: Opened, Kind: Subsystem, Command: "sftp", Door: "ssh", From: "10.0.0.5"}, "subsystem sftp (ssh from 10.0.0.5)"},
		{"terminal", &Facts{Outcome: Refused, Reason: "the exam is closed"}, "refused: the exam is closed"},
		{"terminal", &Facts{Outcome: Refused, Reason: "no machine x", Door: "web", From: "10.0.0.5"}, "refused: no machine x (web from 10.0.0.5)"},
		{"terminal", &Facts{Outcome: Failed, Reason: "pty refused by the machine (EOF)"}, "failed: pty refused by the machine (EOF)"},
		{"terminal", Exit(130), "ended (status 130)"},
		{"console", &Facts{Outcome: Opened, Kind: Console, Door: "web", From: "10.0.0.5"}, "opened (web from 10.0.0.5)"},
		{"console", &Facts{Outcome: Closed}, "closed"},
		{"ssh", &Facts{Kind: Shell}, "interactive shell"},
		{"forward", &Facts{Outcome: Opened, To: "10.0.0.10:80"}, "to 10.0.0.10:80"},
		{"forward", &Facts{Outcome: Refused, To: "8.8.8.8:53", Reason: "not a declared port of the candidate's machines"}, "to 8.8.8.8:53 refused: not a declared port of the candidate's machines"},
		{"forward", &Facts{Outcome: Failed, To: "[fd00::1]:80", Reason: "dial tcp 10.250.1.10:80: connect: connection refused"}, "to [fd00::1]:80: dial tcp 10.250.1.10:80: connect: connection refused"},
		{"exec", &Facts{Kind: Exec, Command: "systemctl restart x"}, "command: systemctl restart x"},
		{"exec", Exit(zero), "ended: exit status 0"},
		{"ssh", Failure(1200*time.Millisecond, errors.New("dial: refused")), "failed after 1.2s: dial: refused"},
	} {
		t.Run(tc.action+" "+tc.english, func(t *testing.T) {
			if got := tc.facts.English(tc.action); got != tc.english {
				t.Errorf("English = %q, want %q", got, tc.english)
			}
			want := tc.facts
			if tc.action == "down" && len(want.Candidates) == 0 {
				want = &Facts{Candidates: []string{}}
			}
			if got := Legacy(tc.action, tc.english); !reflect.DeepEqual(got, want) {
				t.Errorf("Legacy(%q) = %+v, want %+v", tc.english, got, want)
			}
		})
	}
}

// TestLegacyFreeText: a line that carries no typed fact reads as nil (the
// caller keeps the line as written).
func TestLegacyFreeText(t *testing.T) {
	for _, tc := range [][2]string{{"faults", "dns-arrete, ssh-ferme"}, {"grade", "12 candidates"}, {"terminal", "something new"}, {"up", "whatever"}} {
		if f := Legacy(tc[0], tc[1]); f != nil {
			t.Errorf("Legacy(%q, %q) = %+v, want nil", tc[0], tc[1], f)
		}
	}
}
