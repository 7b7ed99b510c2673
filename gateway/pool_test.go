package gateway

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/net/websocket"
)

// TestMachineConnectionShared: a candidate's terminals reuse the gateway's
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

// TestBrowserTerminalSharesConnection: browser terminals take their
// connection to the machine from the same pool as the candidate's SSH
// terminals (one login on the machine for terminals opened one after the
// other), two open at once have one each, and the shell's exit status is
// passed on.
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
	logins := func() int { return strings.Count(l.servers["c01"].Log(), "Accepted publickey") }
	tab := func() *websocket.Conn {
		t.Helper()
		ws := dialTerminal(t, base, "srv", cookie, base)
		send(t, ws, termMessage{Input: "hostname\n"})
		if out := readUntil(t, ws, "\rsrv-c01\r\n", 20*time.Second); !strings.Contains(out, "\rsrv-c01\r\n") {
			t.Fatalf("tab: %q", out)
		}
		return ws
	}
	exit := func(ws *websocket.Conn, code int) {
		t.Helper()
		send(t, ws, termMessage{Input: fmt.Sprintf("exit %d\n", code)})
		if out := readUntil(t, ws, "Session terminée", 20*time.Second); !strings.Contains(out, "Session terminée") {
			t.Errorf("after exit: %q", out)
		}
		ws.Close()
	}
	exit(tab(), 3)
	if out, errOut, code := l.ssh(t, "c01+srv", l.passwords["c01"], "", "hostname"); code != 0 || out != "srv-c01\n" {
		t.Fatalf("ssh terminal: code %d, %q, %q", code, out, errOut)
	}
	first := tab()
	if n := logins(); n != 1 {
		t.Errorf("%d logins on c01's sshd for a browser tab, an SSH terminal and a tab again, one after the other; want 1 (pooled)", n)
	}
	second := tab()
	if n := logins(); n != 2 {
		t.Errorf("%d logins on c01's sshd with two tabs open at once, want 2 (one connection each)", n)
	}
	exit(first, 0)
	send(t, second, termMessage{Input: "echo ENCORE-$((40+2))\n"}) // the other tab lives on
	if out := readUntil(t, second, "ENCORE-42", 20*time.Second); !strings.Contains(out, "ENCORE-42") {
		t.Errorf("the other tab after the first one's exit: %q", out)
	}
	exit(second, 0)
	if log := l.auditLog(t); !hasLine(log, "terminal c01 srv", "ended (status 3)") {
		t.Errorf("no exit status in the audit log:\n%s", strings.Join(log, "\n"))
	}
}

// TestPrewarmBounded: the gateway dials a candidate's machine while the
// password of a `CANDIDATE+MACHINE` login is checked, but never outside the
// exam, and wrong passwords, however many, cost the machine at most that
// one login of the gateway's; the right one then finds it dialed.
func TestPrewarmBounded(t *testing.T) {
	l := startLab(t)
	allowUncontained(t)
	logins := func(c string) int { return strings.Count(l.servers[c].Log(), "Accepted publickey") }
	try := func(user, password string) error {
		c, err := ssh.Dial("tcp", l.sshAddr, &ssh.ClientConfig{User: user, Auth: []ssh.AuthMethod{ssh.Password(password)},
			HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 30 * time.Second})
		if err == nil {
			c.Close()
		}
		return err
	}
	if try("c01+srv", l.passwords["c01"]) == nil {
		t.Fatal("a login before the exam opened")
	}
	l.open(t)
	for range 4 {
		if try("c02+srv", "mauvais") == nil {
			t.Fatal("a wrong password accepted")
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for logins("c02") == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	if n := logins("c02"); n != 1 {
		t.Errorf("%d logins of the gateway on c02's machine after 4 wrong passwords, want 1 (dialed ahead once)", n)
	}
	if n := logins("c01"); n != 0 {
		t.Errorf("%d logins of the gateway on c01's machine before the exam opened", n)
	}
	if out, errOut, code := l.ssh(t, "c02+srv", l.passwords["c02"], "", "hostname"); code != 0 || out != "srv-c02\n" {
		t.Fatalf("c02's terminal: code %d, %q, %q", code, out, errOut)
	}
	if n := logins("c02"); n != 1 {
		t.Errorf("%d logins on c02's machine, want 1: the terminal takes the connection dialed ahead", n)
	}
}
