package libvirt_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/tailab/tailab/internal/testenv"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/provision/libvirt"
)

func needDaemon(t *testing.T) {
	t.Helper()
	if daemonEnv["TAILAB_LXC_URI"] == "" {
		testenv.Unavailable(t, "no private libvirtd (needs root and libvirt-daemon-driver-lxc; see scripts/libvirtd-netns.sh)")
	}
}

const itLab = `name: it-lab
secrets:
  key: {ssh_key: true}
networks:
  - {name: lan, cidr: 10.30.0.0/24}
defaults:
  kind: container
  os: linux
  memory: 64MiB
  credentials: {ssh: {user: root, key: key}}
  ready: {ssh: true, timeout: 30s}
machines:
  - {name: srv, role: server, services: [sshd], nics: [{network: lan, address: 10.30.0.10}]}
  - {name: pc, role: client, services: [sshd], nics: [{network: lan, address: 10.30.0.20}]}
`

type nopObserver struct{}

func (nopObserver) Event(provision.Event)          {}
func (nopObserver) Machine(provision.MachineState) {}

func newEngine(t *testing.T, dataDir string) *provision.Engine {
	t.Helper()
	st, err := provision.OpenState(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	p := libvirt.New(libvirt.ConfigFrom(map[string]string{
		"qemu": daemonEnv["TAILAB_QEMU_URI"], "lxc": daemonEnv["TAILAB_LXC_URI"],
		"host-var": daemonEnv["TAILAB_HOSTVAR"], "data-dir": dataDir, "virt-type": "qemu",
	}))
	t.Cleanup(func() { p.Close() })
	return &provision.Engine{State: st, Provider: p}
}

// sshRun runs a command on a machine's management address with the session key.
func sshRun(t *testing.T, st *provision.State, lab *labs.Lab, session, candidate, addr, command string) (string, error) {
	t.Helper()
	secrets, err := st.Secrets(session, lab, candidate)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey([]byte(secrets["key"].Reveal()))
	if err != nil {
		t.Fatal(err)
	}
	c, err := ssh.Dial("tcp", net.JoinHostPort(addr, "22"), &ssh.ClientConfig{
		User: "root", Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 5 * time.Second,
	})
	if err != nil {
		return "", err
	}
	defer c.Close()
	s, err := c.NewSession()
	if err != nil {
		return "", err
	}
	defer s.Close()
	out, err := s.CombinedOutput(command)
	return strings.TrimSpace(string(out)), err
}

// TestSessionUpIsolationDown brings up 2 candidates × 2 containers, proves every
// machine answers on its expected addresses, that candidate A cannot reach
// candidate B, that a second up keeps everything, and that down leaves nothing.
func TestSessionUpIsolationDown(t *testing.T) {
	needDaemon(t)
	ctx := context.Background()
	dataDir := t.TempDir()
	eng := newEngine(t, dataDir)
	lab, err := labs.Load("it-lab.yaml", []byte(itLab))
	if err != nil {
		t.Fatal(err)
	}
	sess, err := eng.NewSession("it1", lab, []byte(itLab), provision.NumberedCandidates(2), "libvirt")
	if err != nil {
		t.Fatal(err)
	}
	plan, err := eng.Plan(ctx, sess, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := plan.Count(provision.OpCreate); got != 7 { // mgmt + 2 lan + 4 domains
		t.Fatalf("plan creates %d resources, want 7: %+v", got, plan.Actions)
	}
	start := time.Now()
	if err := eng.Up(ctx, plan, provision.ApplyOptions{}, nopObserver{}); err != nil {
		t.Fatalf("up: %v", err)
	}
	t.Logf("up of 2 candidates × 2 containers: %s", time.Since(start))
	t.Cleanup(func() { _ = eng.Down(context.Background(), sess, nil, nopObserver{}) })

	states, err := eng.State.Machines("it1")
	if err != nil {
		t.Fatal(err)
	}
	if len(states) != 4 {
		t.Fatalf("recorded %d machines, want 4", len(states))
	}
	for _, m := range states {
		if m.State != provision.StateReady {
			t.Errorf("%s/%s: state %s (%s), want ready", m.Candidate, m.Machine, m.State, m.Error)
		}
		out, err := sshRun(t, eng.State, lab, "it1", m.Candidate, m.MgmtAddress, "hostname; ip -4 -o addr show eth0")
		if err != nil {
			t.Fatalf("%s/%s: ssh %s: %v", m.Candidate, m.Machine, m.MgmtAddress, err)
		}
		if !strings.HasPrefix(out, m.Machine+"\n") || !strings.Contains(out, m.Addresses["lan"]+"/24") {
			t.Errorf("%s/%s: got %q, want hostname %s and lan address %s", m.Candidate, m.Machine, out, m.Machine, m.Addresses["lan"])
		}
	}

	// Same lab addresses for both candidates, but separate wires: c01's pc reaches
	// c01's srv (by MAC), and nothing of c02, not even over the management network.
	c01pc, c02srv := "10.250.1.11", "10.250.2.10"
	out, err := sshRun(t, eng.State, lab, "it1", "c01", c01pc, "busybox ping -c 1 -W 2 10.30.0.10 >/dev/null && cat /proc/net/arp")
	if err != nil {
		t.Fatalf("c01/pc cannot reach its own srv: %v %s", err, out)
	}
	if want := libvirt.MAC("it1", "c01", "srv", 0); !strings.Contains(out, want) {
		t.Errorf("c01/pc reached 10.30.0.10 at another MAC than c01/srv's %s:\n%s", want, out)
	}
	if out, err := sshRun(t, eng.State, lab, "it1", "c01", c01pc, "busybox nc -z -w 2 "+c02srv+" 22"); err == nil {
		t.Errorf("candidate c01 reached candidate c02's srv over the management network: %s", out)
	}
	if out, err := sshRun(t, eng.State, lab, "it1", "c01", c01pc, "busybox nc -z -w 2 10.250.1.10 22"); err == nil {
		t.Errorf("management ports are not isolated (c01/pc reached c01/srv): %s", out)
	}

	// A second up keeps everything.
	plan2, err := eng.Plan(ctx, sess, nil)
	if err != nil {
		t.Fatal(err)
	}
	if plan2.Count(provision.OpKeep) != 7 || len(plan2.Actions) != 7 {
		t.Errorf("second plan: %s, want 7 to keep", plan2.Summary())
	}

	// down leaves nothing: no domain, network or file.
	if err := eng.Down(ctx, sess, nil, nopObserver{}); err != nil {
		t.Fatalf("down: %v", err)
	}
	assertNothingLeft(t, eng, "it1", dataDir)
}

func assertNothingLeft(t *testing.T, eng *provision.Engine, session, dataDir string) {
	t.Helper()
	orphans, err := eng.Provider.Orphans(context.Background(), map[string]bool{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range orphans {
		if strings.Contains(r.Name, "tl-"+session+".") || strings.HasSuffix(r.Name, "/"+session) {
			t.Errorf("left behind: %s %s", r.Type, r.Name)
		}
	}
	if _, err := os.Stat(filepath.Join(dataDir, "machines", session)); !os.IsNotExist(err) {
		t.Errorf("machine dir of session %s still exists", session)
	}
	if _, err := eng.State.Session(session); err == nil {
		t.Errorf("session %s still in the store", session)
	}
}

// TestKillDuringUpThenReconcile kills `tailab up` with SIGKILL half-way, then
// proves a second `up` finishes the job and `down` removes everything.
func TestKillDuringUpThenReconcile(t *testing.T) {
	needDaemon(t)
	bin := filepath.Join(t.TempDir(), "tailab")
	build := exec.Command("go", "build", "-o", bin, "../../cmd/tailab")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build tailab: %v\n%s", err, out)
	}
	dataDir := t.TempDir()
	labFile := filepath.Join(t.TempDir(), "lab.yaml")
	if err := os.WriteFile(labFile, []byte(itLab), 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "TAILAB_DATA_DIR="+dataDir, "TAILAB_VIRT_TYPE=qemu")
	up := exec.Command(bin, "up", labFile, "--session", "kill", "--count", "3", "--parallel", "1")
	up.Env = env
	stderr, _ := up.StderrPipe()
	if err := up.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	created := 0
	for sc.Scan() {
		if strings.Contains(sc.Text(), " created") && strings.Contains(sc.Text(), "/") {
			if created++; created == 2 {
				_ = up.Process.Signal(syscall.SIGKILL)
				break
			}
		}
	}
	_ = up.Wait()
	if created < 2 {
		t.Fatalf("up finished before it could be killed (saw %d machines created)", created)
	}

	var mu sync.Mutex
	var out strings.Builder
	again := exec.Command(bin, "up", labFile, "--session", "kill", "--count", "3")
	again.Env = env
	again.Stdout, again.Stderr = &lockedWriter{&mu, &out}, &lockedWriter{&mu, &out}
	if err := again.Run(); err != nil {
		t.Fatalf("second up: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "to keep") || strings.Count(out.String(), " ready") < 6 {
		t.Errorf("second up did not reconcile to 6 ready machines:\n%s", out.String())
	}
	eng := newEngine(t, dataDir)
	sess, err := eng.State.Session("kill")
	if err != nil {
		t.Fatal(err)
	}
	ms, err := eng.Provider.Status(context.Background(), sess, mustInstances(t, sess))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.State != provision.StateReady {
			t.Errorf("%s/%s: %s after reconcile", m.Candidate, m.Machine, m.State)
		}
	}
	down := exec.Command(bin, "down", "--session", "kill")
	down.Env = env
	if b, err := down.CombinedOutput(); err != nil {
		t.Fatalf("down: %v\n%s", err, b)
	}
	assertNothingLeft(t, eng, "kill", dataDir)
}

func mustInstances(t *testing.T, s *provision.Session) []*labs.Instance {
	t.Helper()
	ins, err := s.Instances()
	if err != nil {
		t.Fatal(err)
	}
	return ins
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

var _ = fmt.Sprint
