package gateway

import (
	"context"
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

	"github.com/tailab/tailab/internal/store"
	"github.com/tailab/tailab/internal/testenv"
	"github.com/tailab/tailab/internal/testenv/sshd"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
)

func TestMain(m *testing.M) {
	if os.Getenv(benchClientsEnv) == "1" { // BenchmarkTerminals's clients, in the benchmark's network namespace
		os.Exit(benchClients())
	}
	testenv.RunInNetns(m)
}

// lab is a running test session: two candidates, each with a machine srv
// (a real sshd in its own UTS namespace, host name srv-CANDIDATE, at the
// management address 127.0.0.1N) serving port 80 too, and a machine pc1
// recorded but not started.
type lab struct {
	st        *provision.State
	store     *store.Store
	sess      *provision.Session
	gw        *Gateway
	sshAddr   string
	passwords map[string]string
	hostKeys  map[string]string // candidate → srv's pinned host key
	servers   map[string]*sshd.Server
	dataDir   string
}

var mgmt = map[string]string{} // candidate → srv's management address (startLabN)

func startLab(t *testing.T) *lab { return startLabN(t, 2) }

// startLabN is startLab with n candidates (c01..cNN, srv at 127.0.0.(10+i)).
func startLabN(t testing.TB, n int) *lab { return startLabFile(t, n, "testdata/lab.yaml") }

// startLabFile is startLabN with the lab of file (srv and pc1 as in lab.yaml).
func startLabFile(t testing.TB, n int, file string) *lab {
	t.Helper()
	testenv.RequireIsolatedNetwork(t)
	dataDir := t.TempDir()
	st, err := provision.OpenState(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	yml, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	sess := &provision.Session{Name: "s1", Lab: "gw-test", LabSource: file, LabYAML: string(yml),
		Provider: "libvirt", Candidates: provision.NumberedCandidates(n)}
	if err := st.SaveSession(sess); err != nil {
		t.Fatal(err)
	}
	labDef, err := sess.LoadLab()
	if err != nil {
		t.Fatal(err)
	}
	gs, err := store.Open(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	l := &lab{st: st, store: gs, sess: sess, passwords: map[string]string{}, hostKeys: map[string]string{}, servers: map[string]*sshd.Server{}, dataDir: dataDir}
	var ids []string
	for i := 1; i <= n; i++ {
		ids = append(ids, fmt.Sprintf("c%02d", i))
		mgmt[ids[i-1]] = fmt.Sprintf("127.0.0.%d", 10+i)
	}
	pws, err := Passwords(gs, "s1", ids)
	if err != nil {
		t.Fatal(err)
	}
	for c, pw := range pws {
		l.passwords[c] = pw.Reveal()
		secrets, err := st.Secrets("s1", labDef, c)
		if err != nil {
			t.Fatal(err)
		}
		signer, err := ssh.ParsePrivateKey([]byte(secrets["ssh-key"].Reveal()))
		if err != nil {
			t.Fatal(err)
		}
		srv := sshd.Start(t, sshd.Options{Host: mgmt[c], Port: 22, Hostname: "srv-" + c, AuthorizedKeys: []ssh.PublicKey{signer.PublicKey()}})
		l.hostKeys[c] = srv.Fingerprint
		l.servers[c] = srv
		web := serveText(t, mgmt[c]+":80", "web of "+c)
		_ = web
		if err := st.PutMachines([]provision.MachineState{
			{Session: "s1", Candidate: c, Machine: "srv", Kind: labs.KindContainer, MgmtAddress: mgmt[c], State: provision.StateReady,
				Addresses: map[string]string{"lan": "10.40.1.10"}, SSHHostKey: srv.Fingerprint},
			{Session: "s1", Candidate: c, Machine: "pc1", Kind: labs.KindContainer, State: provision.StateStopped},
		}); err != nil {
			t.Fatal(err)
		}
	}
	gw, err := New(Config{DataDir: dataDir, Session: "s1", RecordDir: filepath.Join(dataDir, "recordings"), Grace: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	l.gw = gw
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- gw.ServeSSH(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeSSH: %v", err)
		}
		gw.Close()
	})
	l.sshAddr = ln.Addr().String()
	return l
}

// serveText answers every TCP connection on addr with text.
func serveText(t testing.TB, addr, text string) string {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = io.WriteString(c, text+"\n")
			c.Close()
		}
	}()
	return ln.Addr().String()
}

func (l *lab) open(t testing.TB) {
	t.Helper()
	if _, err := OpenWindow(l.store, "s1", time.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
}

// ssh runs OpenSSH's client against the gateway as user with password
// (through SSH_ASKPASS), with extra options and a remote command; it returns
// stdout, stderr and the exit code.
func (l *lab) ssh(t *testing.T, user, password, stdin string, args ...string) (string, string, int) {
	t.Helper()
	bin := testenv.RequireBinary(t, "ssh")
	dir := t.TempDir()
	askpass := filepath.Join(dir, "askpass")
	if err := os.WriteFile(askpass, []byte("#!/bin/sh\nprintf '%s\\n' \"$GW_PASSWORD\"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(l.sshAddr)
	base := []string{"-F", "/dev/null", "-p", port, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password", "-o", "NumberOfPasswordPrompts=1",
		"-o", "LogLevel=INFO", "-o", "ConnectTimeout=10", "-l", user}
	cmd := exec.Command(bin, append(append(base, args[:len(args)-1]...), host, args[len(args)-1])...)
	if len(args) > 0 && args[len(args)-1] == "" {
		cmd = exec.Command(bin, append(append(base, args[:len(args)-1]...), host)...)
	}
	cmd.Env = append(os.Environ(), "SSH_ASKPASS="+askpass, "SSH_ASKPASS_REQUIRE=force", "DISPLAY=:0", "GW_PASSWORD="+password)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// auditLog flushes the gateway's audit queue and returns the log as lines.
func (l *lab) auditLog(t *testing.T) []string {
	t.Helper()
	l.gw.audit.flush()
	es, err := l.st.AuditLog("s1")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, e := range es {
		lines = append(lines, fmt.Sprintf("%s %s %s %s %s", e.User, e.Action, e.Candidate, e.Machine, e.Detail))
	}
	return lines
}

func hasLine(lines []string, parts ...string) bool {
	for _, l := range lines {
		ok := true
		for _, p := range parts {
			if !strings.Contains(l, p) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}
