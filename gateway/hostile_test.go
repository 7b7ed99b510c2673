package gateway

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/tailab/tailab/internal/testenv"
)

// TestFailedLoginFlood sends 1000 failed logins from one source: the
// gateway stays up, the rate limit refuses most of them before any password
// check, every attempt is audited, and the right password from the same
// source is refused while the limit holds (in French).
func TestFailedLoginFlood(t *testing.T) {
	l := startLab(t)
	l.open(t)
	start := time.Now()
	refusedByLimit := 0
	for i := 0; i < 1000; i++ {
		err := goLogin(l.sshAddr, fmt.Sprintf("c%02d", i%3+1), "faux")
		if err == nil {
			t.Fatal("a wrong password logged in")
		}
		if strings.Contains(err.Error(), "Trop de tentatives") {
			refusedByLimit++
		}
	}
	took := time.Since(start)
	if refusedByLimit < 900 {
		t.Errorf("only %d of 1000 attempts refused by the rate limit", refusedByLimit)
	}
	if err := goLogin(l.sshAddr, "c01", l.passwords["c01"]); err == nil || !strings.Contains(err.Error(), "Trop de tentatives") {
		t.Errorf("the right password during the flood: %v", err)
	}
	log := l.auditLog(t)
	n := 0
	for _, line := range log {
		if strings.Contains(line, " login ") {
			n++
		}
	}
	if n != 1001 {
		t.Errorf("%d login attempts audited, want 1001", n)
	}
	t.Logf("1000 failed logins in %s (%d refused by the rate limit)", took.Round(time.Millisecond), refusedByLimit)
}

// goLogin tries a password login with Go's client; the error holds the
// banner the gateway sent.
func goLogin(addr, user, password string) error {
	var banner string
	cfg := &ssh.ClientConfig{User: user, Auth: []ssh.AuthMethod{ssh.Password(password)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second,
		BannerCallback: func(m string) error { banner += m; return nil }}
	c, err := ssh.Dial("tcp", addr, cfg)
	if err != nil {
		return fmt.Errorf("%w (banner %q)", err, banner)
	}
	c.Close()
	return nil
}

// TestMalformedSSH sends garbage, a truncated handshake and a huge packet
// length: each connection is dropped, the gateway still serves.
func TestMalformedSSH(t *testing.T) {
	l := startLab(t)
	allowUncontained(t)
	l.open(t)
	l.gw.loginGrace = 3 * time.Second
	for _, payload := range [][]byte{
		[]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
		[]byte("SSH-2.0-x\r\n\x00\x00\x00"),
		append([]byte("SSH-2.0-x\r\n"), 0xff, 0xff, 0xff, 0xf0, 0x04, 0x14), // a 4 GiB packet
		[]byte(strings.Repeat("SSH-2.0-", 10000)),
	} {
		c, err := net.Dial("tcp", l.sshAddr)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = c.Write(payload)
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err = io.Copy(io.Discard, c) // until the gateway closes
		c.Close()
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Errorf("payload %q: the gateway kept the connection open", trim(string(payload), 20))
		}
	}
	out, _, code := l.ssh(t, "c01+srv", l.passwords["c01"], "", "hostname")
	if code != 0 || out != "srv-c01\n" {
		t.Errorf("after malformed input: code %d, %q", code, out)
	}
}

// TestMenu drives the SSH menu as a candidate does, with OpenSSH's client
// in a terminal (tmux): the candidate's machines in French, a refusal for a
// stopped one, a shell on srv by its number, back to the menu when it ends.
func TestMenu(t *testing.T) {
	tmux := testenv.RequireBinary(t, "tmux")
	l := startLab(t)
	allowUncontained(t)
	l.open(t)
	dir := t.TempDir()
	askpass := filepath.Join(dir, "askpass")
	if err := os.WriteFile(askpass, []byte("#!/bin/sh\necho '"+l.passwords["c01"]+"'\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(l.sshAddr)
	sock := filepath.Join(dir, "tmux.sock")
	tm := func(args ...string) string {
		out, _ := exec.Command(tmux, append([]string{"-S", sock}, args...)...).CombinedOutput()
		return string(out)
	}
	tm("new-session", "-d", "-x", "120", "-y", "50", "env", "SSH_ASKPASS="+askpass, "SSH_ASKPASS_REQUIRE=force", "DISPLAY=:0",
		"ssh", "-F", "/dev/null", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-p", port, "c01@"+host)
	t.Cleanup(func() { tm("kill-server") })
	screen := func(want string) string {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			s := tm("capture-pane", "-p", "-S", "-100")
			if strings.Contains(s, want) {
				return s
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %q on the screen:\n%s", want, s)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	screen("Tapez le numéro")
	if s := screen("2) pc1"); !strings.Contains(s, "1) srv") || !strings.Contains(s, "10.40.1.10") || strings.Contains(s, "c02") {
		t.Errorf("menu:\n%s", s)
	}
	tm("send-keys", "2", "Enter")
	screen("n'est pas démarrée")
	tm("send-keys", "1", "Enter")
	screen("root@srv-c01:~#")
	tm("send-keys", "hostname; exit", "Enter")
	s := screen("logout")
	if !strings.Contains(s, "\nsrv-c01\n") {
		t.Errorf("hostname:\n%s", s)
	}
	if n := strings.Count(screen("logout\n"), "Vos machines"); n < 1 {
		t.Errorf("not back to the menu")
	}
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(tm("capture-pane", "-p", "-S", "-100"), "Vos machines") < 3 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond) // the menu again after the refusal (2), then after the shell (3)
	}
	if n := strings.Count(tm("capture-pane", "-p", "-S", "-100"), "Vos machines"); n != 3 {
		t.Errorf("the menu was shown %d times, want 3", n)
	}
	tm("send-keys", "q", "Enter")
	if log := l.auditLog(t); !hasLine(log, "terminal c01 pc1", "refused") || !hasLine(log, "terminal c01 srv", "shell (ssh from") {
		t.Errorf("audit log:\n%s", strings.Join(log, "\n"))
	}
}
