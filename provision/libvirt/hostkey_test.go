package libvirt_test

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
)

const hostKeyLab = `name: hk-lab
referential: tai-2018
secrets:
  key: {ssh_key: true}
networks:
  - {name: lan, cidr: 10.36.0.0/24}
machines:
  - name: srv
    role: server
    kind: container
    os: linux
    memory: 64MiB
    services: [sshd]
    credentials: {ssh: {user: root, key: key}}
    ready: {ssh: true, timeout: 30s}
    nics: [{network: lan, address: 10.36.0.10}]
checks: [suite.yaml]
`

const hostKeySuite = `name: hk
referential: tai-2018
checks:
  - {id: srv-hostname, title: Nom du serveur, competence: C2.3, machine: srv, probe: {type: ssh, command: hostname}, expect: {exit_code: 0}}
  - {id: srv-root, title: Compte root, competence: C2.3, machine: srv, probe: {type: ssh, command: id -u}, expect: {stdout: "0"}}
`

// TestHostKeyPinnedAtUp runs the real binary on the private libvirtd: `up`
// pins the container's SSH host key in the state, `grade` passes with the
// evidence saying so; once the machine presents another key (the candidate
// replaced /srv's and restarted sshd, as a machine answering at another's
// address would), every ssh check is an `error` naming the expected and the
// presented fingerprints, never a verdict; `reset` brings the genuine key
// back and the checks pass again.
func TestHostKeyPinnedAtUp(t *testing.T) {
	needDaemon(t)
	dataDir, dir := t.TempDir(), t.TempDir()
	labFile := filepath.Join(dir, "lab.yaml")
	for name, text := range map[string]string{"lab.yaml": hostKeyLab, "suite.yaml": hostKeySuite} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cli := newCLI(t, "TAILAB_DATA_DIR="+dataDir)
	tailab := func(args ...string) ([]byte, error) { return cli.command(args...).Output() }
	if out, err := tailab("up", labFile, "--session", "hk", "--count", "1"); err != nil {
		t.Fatalf("up: %v\n%s", err, out)
	}
	eng := newEngine(t, dataDir, "")
	t.Cleanup(func() { _, _ = tailab("down", "--session", "hk") })
	ms, err := eng.State.Machines("hk")
	if err != nil || len(ms) != 1 || !strings.HasPrefix(ms[0].SSHHostKey, "SHA256:") {
		t.Fatalf("machine state after up: %+v %v, want a pinned SSH host key", ms, err)
	}
	pinned := ms[0].SSHHostKey

	type result struct {
		CheckID                   string `json:"check_id"`
		Status, Message, Evidence string
	}
	grade := func() []result {
		t.Helper()
		out, _ := tailab("grade", "--session", "hk", "-o", "json")
		var rep struct {
			Candidates []struct {
				Results []result
			}
		}
		if err := json.Unmarshal(out, &rep); err != nil || len(rep.Candidates) != 1 {
			t.Fatalf("grade -o json: %v\n%s", err, out)
		}
		return rep.Candidates[0].Results
	}
	for _, r := range grade() {
		if r.Status != "pass" || !strings.Contains(r.Evidence, pinned+" (pinned at up)") {
			t.Errorf("before: %s is %s (%s), evidence %q: want pass with the key pinned at up", r.CheckID, r.Status, r.Message, r.Evidence)
		}
	}

	addr := ms[0].MgmtAddress
	lab := mustLab(t, hostKeyLab)
	out, err := sshRun(t, eng.State, lab, "hk", "c01", addr,
		"ssh-keygen -q -t ed25519 -N '' -f /tmp/k && cat /tmp/k > /srv/ssh_host_ed25519_key && ssh-keygen -lf /tmp/k.pub && kill -HUP $(cat /srv/.sshd.pid)")
	if err != nil {
		t.Fatalf("replace the host key: %v: %s", err, out)
	}
	presented := strings.Fields(out)[1]
	waitSSH(t, addr)
	for _, r := range grade() {
		if r.Status != "error" || !strings.Contains(r.Message, "expected "+pinned) || !strings.Contains(r.Message, "presented "+presented) {
			t.Errorf("after the key changed: %s is %s (%s): want error naming %s and %s", r.CheckID, r.Status, r.Message, pinned, presented)
		}
		if !strings.Contains(r.Evidence, presented) || !strings.Contains(r.Evidence, "REFUSED") {
			t.Errorf("after the key changed: %s's evidence %q does not say which key was refused", r.CheckID, r.Evidence)
		}
	}

	if out, err := tailab("reset", "--session", "hk", "--candidate", "c01", "--yes"); err != nil {
		t.Fatalf("reset: %v\n%s", err, out)
	}
	for _, r := range grade() {
		if r.Status != "pass" {
			t.Errorf("after reset: %s is %s (%s), want pass", r.CheckID, r.Status, r.Message)
		}
	}
	if ms, _ := eng.State.Machines("hk"); len(ms) != 1 || ms[0].SSHHostKey != pinned || ms[0].State != provision.StateReady {
		t.Errorf("after reset the state is %+v, want ready with the key pinned at up", ms)
	}
}

func mustLab(t *testing.T, text string) *labs.Lab {
	t.Helper()
	lab, err := labs.Load("lab.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return lab
}

// waitSSH waits until sshd accepts connections again (after its SIGHUP re-exec).
func waitSSH(t *testing.T, addr string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if c, err := net.DialTimeout("tcp", net.JoinHostPort(addr, "22"), time.Second); err == nil {
			c.Close()
			return
		}
	}
	t.Fatalf("sshd at %s did not come back", addr)
}
