package exam

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	xssh "golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"

	"github.com/tailab/tailab/internal/errclass"
	"github.com/tailab/tailab/internal/testenv/sshd"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
)

const adminLab = `name: admin-test
networks:
  - {name: lan, cidr: 10.40.1.0/24}
secrets:
  ssh-key: {ssh_key: true}
defaults:
  kind: container
  os: linux
  services: [sshd]
  credentials:
    ssh: {user: root, key: ssh-key}
machines:
  - name: srv
    role: server
    nics: [{network: lan, address: 10.40.1.10}]
  - name: pc1
    role: client
    nics: [{network: lan, address: 10.40.1.21}]
`

// adminSession is a session of 2 candidates whose srv is a real sshd (host
// name srv-CANDIDATE, at 127.0.0.2N:22, accepting the session's key for the
// candidate) and whose pc1 is not started. It returns the data dir and
// each srv's pinned host key.
func adminSession(t *testing.T) (string, *provision.State, map[string]string) {
	t.Helper()
	dataDir := t.TempDir()
	st, err := provision.OpenState(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	sess := &provision.Session{Name: "s1", Lab: "admin-test", LabSource: "admin.yaml", LabYAML: adminLab,
		Provider: "libvirt", Candidates: provision.NumberedCandidates(2)}
	if err := st.SaveSession(sess); err != nil {
		t.Fatal(err)
	}
	lab, err := sess.LoadLab()
	if err != nil {
		t.Fatal(err)
	}
	pins := map[string]string{}
	for i, c := range []string{"c01", "c02"} {
		secrets, err := st.Secrets("s1", lab, c)
		if err != nil {
			t.Fatal(err)
		}
		signer, err := xssh.ParsePrivateKey([]byte(secrets["ssh-key"].Reveal()))
		if err != nil {
			t.Fatal(err)
		}
		host := fmt.Sprintf("127.0.0.2%d", i+1)
		srv := sshd.Start(t, sshd.Options{Host: host, Port: 22, Hostname: "srv-" + c, AuthorizedKeys: []xssh.PublicKey{signer.PublicKey()}})
		pins[c] = srv.Fingerprint
		if err := st.PutMachines([]provision.MachineState{
			{Session: "s1", Candidate: c, Machine: "srv", Kind: labs.KindContainer, MgmtAddress: host, State: provision.StateReady, SSHHostKey: srv.Fingerprint},
			{Session: "s1", Candidate: c, Machine: "pc1", Kind: labs.KindContainer, State: provision.StateStopped},
		}); err != nil {
			t.Fatal(err)
		}
	}
	return dataDir, st, pins
}

func auditLines(t *testing.T, st *provision.State) string {
	t.Helper()
	log, err := st.AuditLog("s1")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range log {
		fmt.Fprintf(&b, "%s %s %s %s\n", e.Action, e.Candidate, e.Machine, e.Detail)
	}
	return b.String()
}

// TestExecAndShell: `tailab exec` on 2 candidates whose commands exit
// differently (output grouped in roster order, codes, summary, verdict,
// JSON), `tailab ssh` with a command and with a shell on a pty (window size,
// its change, exit status), a pinned host key that does not match (an error
// naming both fingerprints), a machine not started, and the audit log.
func TestExecAndShell(t *testing.T) {
	dataDir, st, pins := adminSession(t)
	ctx := context.Background()
	cmd := `hostname; echo warn >&2; [ "$(hostname)" = srv-c01 ] || exit 3`
	rs, err := Exec(ctx, ExecOptions{DataDir: dataDir, Session: "s1", Candidates: []string{"all"}, Machine: "srv", Command: cmd})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0].Candidate != "c01" || rs[1].Candidate != "c02" {
		t.Fatalf("results: %+v", rs)
	}
	for i, want := range []struct {
		out  string
		code int
	}{{"srv-c01\n", 0}, {"srv-c02\n", 3}} {
		if r := rs[i]; r.Stdout != want.out || r.Stderr != "warn\n" || r.ExitCode != want.code || r.Error != "" {
			t.Errorf("%s: %+v, want stdout %q, exit %d", r.Candidate, r, want.out, want.code)
		}
	}
	var text bytes.Buffer
	if err := PrintExec(&text, rs, "text"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"── c01 srv: exit 0 (", "srv-c01\nwarn\n── c02 srv: exit 3", "2 candidate(s): 1 exited 0, 1 did not: c02 (exit 3)\n"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text output lacks %q:\n%s", want, text.String())
		}
	}
	if err := ExecVerdict(rs); errclass.Of(err) != errclass.Failed || !errclass.IsSilent(err) {
		t.Errorf("verdict %v (class %v), want silent Failed", err, errclass.Of(err))
	}
	var js bytes.Buffer
	if err := PrintExec(&js, rs, "json"); err != nil {
		t.Fatal(err)
	}
	var back []ExecResult
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || len(back) != 2 || back[1].ExitCode != 3 {
		t.Errorf("json: %v %s", err, js.String())
	}

	code, err := Shell(ctx, ShellOptions{DataDir: dataDir, Session: "s1", Candidate: "c02", Machine: "srv", Command: "exit 7",
		Stdin: strings.NewReader(""), Stdout: &text, Stderr: &text})
	if err != nil || code != 7 {
		t.Errorf("ssh c02 exit 7: %d, %v", code, err)
	}
	t.Run("pty", func(t *testing.T) { shellOnPty(t, dataDir) })

	// c02's srv presents another key than the one pinned (c01's here).
	if err := st.PutMachines([]provision.MachineState{{Session: "s1", Candidate: "c02", Machine: "srv", Kind: labs.KindContainer,
		MgmtAddress: "127.0.0.22", State: provision.StateReady, SSHHostKey: pins["c01"]}}); err != nil {
		t.Fatal(err)
	}
	rs, err = Exec(ctx, ExecOptions{DataDir: dataDir, Session: "s1", Candidates: []string{"c02", "c01"}, Machine: "srv", Command: "true"})
	if err != nil {
		t.Fatal(err)
	}
	if rs[0].Candidate != "c01" || rs[0].ExitCode != 0 || rs[1].ExitCode != -1 ||
		!strings.Contains(rs[1].Error, "expected "+pins["c01"]) || !strings.Contains(rs[1].Error, "presented "+pins["c02"]) {
		t.Errorf("pinned key mismatch: %+v", rs)
	}
	if err := ExecVerdict(rs); errclass.Of(err) != errclass.Infra {
		t.Errorf("verdict with an unreachable machine: class %v, want Infra", errclass.Of(err))
	}
	_, err = Shell(ctx, ShellOptions{DataDir: dataDir, Session: "s1", Candidate: "c02", Machine: "srv", Stdin: strings.NewReader(""), Stdout: &text, Stderr: &text})
	if err == nil || !strings.Contains(err.Error(), pins["c01"]) || !strings.Contains(err.Error(), pins["c02"]) {
		t.Errorf("ssh with a mismatched key: %v", err)
	}

	rs, err = Exec(ctx, ExecOptions{DataDir: dataDir, Session: "s1", Candidates: []string{"c01"}, Machine: "pc1", Command: "true"})
	if err != nil || len(rs) != 1 || !strings.Contains(rs[0].Error, "no management address") {
		t.Errorf("pc1 not started: %+v, %v", rs, err)
	}
	if _, err := Exec(ctx, ExecOptions{DataDir: dataDir, Session: "s1", Machine: "nope", Command: "true"}); errclass.Of(err) != errclass.NotFound {
		t.Errorf("unknown machine: %v", err)
	}
	if _, err := Exec(ctx, ExecOptions{DataDir: dataDir, Session: "s1", Candidates: []string{"c09"}, Machine: "srv", Command: "true"}); errclass.Of(err) != errclass.NotFound {
		t.Errorf("unknown candidate: %v", err)
	}

	log := auditLines(t, st)
	for _, want := range []string{
		"exec c01 srv command: " + cmd + "\n", "exec c01 srv ended: exit status 0\n",
		"exec c02 srv command: " + cmd + "\n", "exec c02 srv ended: exit status 3\n",
		"ssh c02 srv command: exit 7\nssh c02 srv ended: exit status 7\n",
		"ssh c01 srv interactive shell\n", "ssh c01 srv ended: exit status 5\n",
		"exec c02 srv failed after ", "ssh c02 srv failed after ", "exec c01 pc1 failed after ",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("audit log lacks %q:\n%s", want, log)
		}
	}
}

// shellOnPty runs `tailab ssh` without a command on a terminal (a pty pair):
// the remote shell gets a pty of the terminal's size, follows its change
// (SIGWINCH) and passes its exit status on.
func shellOnPty(t *testing.T, dataDir string) {
	master, slave := openPty(t)
	if err := unix.IoctlSetWinsize(int(slave.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 33, Col: 101}); err != nil {
		t.Fatal(err)
	}
	type result struct {
		code int
		err  error
	}
	done := make(chan result, 1)
	go func() {
		code, err := Shell(context.Background(), ShellOptions{DataDir: dataDir, Session: "s1", Candidate: "c01", Machine: "srv",
			Stdin: slave, Stdout: slave, Stderr: slave})
		done <- result{code, err}
	}()
	var seen bytes.Buffer
	lines := make(chan string, 64)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			if n > 0 {
				lines <- string(buf[:n])
			}
			if err != nil {
				close(lines)
				return
			}
		}
	}()
	waitFor := func(want string, again func()) {
		t.Helper()
		deadline := time.After(20 * time.Second)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for !strings.Contains(seen.String(), want) {
			select {
			case s, ok := <-lines:
				if !ok {
					t.Fatalf("terminal closed before %q:\n%s", want, seen.String())
				}
				seen.WriteString(s)
			case <-tick.C:
				if again != nil {
					again()
				}
			case <-deadline:
				t.Fatalf("no %q on the terminal:\n%s", want, seen.String())
			}
		}
	}
	type_ := func(s string) func() { return func() { _, _ = master.WriteString(s) } }
	type_("stty size | sed 's/ /x/'\r")()
	waitFor("33x101", type_("stty size | sed 's/ /x/'\r"))
	if err := unix.IoctlSetWinsize(int(slave.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 40, Col: 120}); err != nil {
		t.Fatal(err)
	}
	resize := func() { _ = syscall.Kill(os.Getpid(), syscall.SIGWINCH); type_("stty size | sed 's/ /x/'\r")() }
	resize()
	waitFor("40x120", resize)
	type_("exit 5\r")()
	select {
	case r := <-done:
		if r.err != nil || r.code != 5 {
			t.Errorf("shell on a pty: exit %d, %v; terminal:\n%s", r.code, r.err, seen.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("the shell did not end:\n%s", seen.String())
	}
}

// openPty opens a pseudo-terminal pair, closed when the test ends.
func openPty(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			t.Fatalf("no /dev/pts/%d: %v", n, err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return m, s
}
