package gateway

import (
	"strings"
	"testing"
	"time"
)

// TestMachineConnectionShared: a candidate's terminals share the gateway's
// SSH connection to the machine (one login on its sshd for two terminals);
// when that connection dies (its sshd process killed, as a reset does), the
// next terminal dials a new one.
func TestMachineConnectionShared(t *testing.T) {
	l := startLab(t)
	allowUncontained(t)
	l.open(t)
	logins := func() int { return strings.Count(l.servers["c01"].Log(), "Accepted publickey") }
	for i := range 2 {
		if out, errOut, code := l.ssh(t, "c01+srv", l.passwords["c01"], "", "hostname"); code != 0 || out != "srv-c01\n" {
			t.Fatalf("terminal %d: code %d, %q, %q", i, code, out, errOut)
		}
	}
	if n := logins(); n != 1 {
		t.Errorf("%d logins on c01's sshd for 2 terminals, want 1 (shared)", n)
	}
	// the shell's parent is sshd's process for the gateway's connection
	_, _, _ = l.ssh(t, "c01+srv", l.passwords["c01"], "", "kill $PPID")
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, errOut, code := l.ssh(t, "c01+srv", l.passwords["c01"], "", "hostname")
		if code == 0 && out == "srv-c01\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the machine's connection died: code %d, %q, %q", code, out, errOut)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if n := logins(); n != 2 {
		t.Errorf("%d logins on c01's sshd, want 2 (a new connection after the old one died)", n)
	}
}
