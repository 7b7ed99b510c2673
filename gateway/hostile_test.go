package gateway

import (
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
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

// TestMenu drives the SSH menu with a pty: the candidate's machines in
// French, a choice by number, a shell on it, back to the menu, quit.
func TestMenu(t *testing.T) {
	l := startLab(t)
	allowUncontained(t)
	l.open(t)
	c, err := ssh.Dial("tcp", l.sshAddr, &ssh.ClientConfig{User: "c01", Auth: []ssh.AuthMethod{ssh.Password(l.passwords["c01"])},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RequestPty("xterm", 30, 100, ssh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	in, _ := s.StdinPipe()
	outR, _ := s.StdoutPipe()
	out := make(chan string, 100)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := outR.Read(buf)
			if n > 0 {
				out <- string(buf[:n])
			}
			if err != nil {
				close(out)
				return
			}
		}
	}()
	var seen strings.Builder
	wait := func(want string) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for !strings.Contains(seen.String(), want) {
			select {
			case s, ok := <-out:
				if !ok {
					t.Fatalf("ended before %q:\n%s", want, seen.String())
				}
				seen.WriteString(s)
			case <-deadline:
				t.Fatalf("no %q in:\n%s", want, seen.String())
			}
		}
	}
	if err := s.Shell(); err != nil {
		t.Fatal(err)
	}
	wait("Vos machines :")
	wait("1) srv")
	wait("2) pc1")
	io.WriteString(in, "2\r")
	wait("n'est pas démarrée")
	seen.Reset()
	io.WriteString(in, "1\r")
	wait("root@srv-c01")
	io.WriteString(in, "hostname; exit\r")
	wait("Vos machines :") // back to the menu once the shell ends
	io.WriteString(in, "q\r")
	if err := s.Wait(); err != nil {
		t.Errorf("menu exit: %v", err)
	}
}
