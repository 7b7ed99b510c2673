package gateway

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/websocket"
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

// TestBrowserTerminalSharesConnection: browser terminals take channels on
// the same pooled connection as the candidate's SSH terminals (one login on
// the machine for all), and still pass on the shell's exit status.
func TestBrowserTerminalSharesConnection(t *testing.T) {
	l := startLab(t)
	allowUncontained(t)
	l.open(t)
	base, c := l.startWeb(t)
	if code, _ := postLogin(t, c, base, "c01", l.passwords["c01"]); code != 303 {
		t.Fatalf("login: %d", code)
	}
	u, _ := url.Parse(base)
	cookie := c.Jar.Cookies(u)
	var tabs []*websocket.Conn
	for i := range 2 {
		ws := dialTerminal(t, base, "srv", cookie, base)
		defer ws.Close()
		send(t, ws, termMessage{Input: "hostname\n"})
		if out := readUntil(t, ws, "\rsrv-c01\r\n", 20*time.Second); !strings.Contains(out, "\rsrv-c01\r\n") {
			t.Fatalf("tab %d: %q", i, out)
		}
		tabs = append(tabs, ws)
	}
	if out, errOut, code := l.ssh(t, "c01+srv", l.passwords["c01"], "", "hostname"); code != 0 || out != "srv-c01\n" {
		t.Fatalf("ssh terminal: code %d, %q, %q", code, out, errOut)
	}
	if n := strings.Count(l.servers["c01"].Log(), "Accepted publickey"); n != 1 {
		t.Errorf("%d logins on c01's sshd for 2 browser tabs and an SSH terminal, want 1 (shared)", n)
	}
	send(t, tabs[0], termMessage{Input: "exit 3\n"})
	if out := readUntil(t, tabs[0], "Session terminée", 20*time.Second); !strings.Contains(out, "Session terminée") {
		t.Errorf("after exit: %q", out)
	}
	// the other tab lives on
	send(t, tabs[1], termMessage{Input: "echo ENCORE-$((40+2))\n"})
	if out := readUntil(t, tabs[1], "ENCORE-42", 20*time.Second); !strings.Contains(out, "ENCORE-42") {
		t.Errorf("the other tab after the first one's exit: %q", out)
	}
	if log := l.auditLog(t); !hasLine(log, "terminal c01 srv", "ended (status 3)") {
		t.Errorf("no exit status in the audit log:\n%s", strings.Join(log, "\n"))
	}
}
