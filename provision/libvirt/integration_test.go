package libvirt_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/tailab/tailab/internal/testenv"
	"github.com/tailab/tailab/internal/testenv/guest"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/provision/libvirt"
	"github.com/tailab/tailab/provision/naming"
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
  - {name: ws, role: client, kind: vm, image: tiny, memory: 128MiB, nics: [{network: lan, address: 10.30.0.30}],
     ready: {ssh: false, tcp: 80, timeout: 2m}}
`

type nopObserver struct{}

func (nopObserver) Event(provision.Event)          {}
func (nopObserver) Machine(provision.MachineState) {}

// imageDir lays out the tiny guest of scripts/tiny-guest.sh as the image "tiny".
func imageDir(t *testing.T) string {
	t.Helper()
	paths := guest.Build(t)
	dir := filepath.Join(t.TempDir(), "images")
	if err := os.MkdirAll(filepath.Join(dir, "tiny"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, src := range map[string]string{"vmlinuz": paths.Kernel, "initrd.gz": paths.Initrd, "base.qcow2": paths.BaseDisk} {
		if err := os.Symlink(src, filepath.Join(dir, "tiny", name)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func newEngine(t *testing.T, dataDir, images string) *provision.Engine {
	t.Helper()
	return newEngineLayout(t, dataDir, images, libvirt.RootFSBuilt)
}

// newEngineLayout is newEngine with containers on rootfs (the contained
// layout), or on the host's / when rootfs is libvirt.RootFSHost.
func newEngineLayout(t *testing.T, dataDir, images, rootfs string) *provision.Engine {
	t.Helper()
	st, err := provision.OpenState(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(daemonEnv["TAILAB_LIBVIRTD_PID"])
	cfg := libvirt.Config{QEMU: daemonEnv["TAILAB_QEMU_URI"], LXC: daemonEnv["TAILAB_LXC_URI"],
		HostVar: daemonEnv["TAILAB_HOSTVAR"], DataDir: dataDir, VirtType: "qemu",
		ImageDir: images, RootFS: rootfs, DaemonPID: pid}
	cfg.Complete()
	p := libvirt.New(cfg)
	t.Cleanup(func() { p.Close() })
	return &provision.Engine{State: st, Provider: p}
}

// sessionPlan makes a session of n numbered candidates of the lab (src is its
// text) and plans it.
func sessionPlan(t *testing.T, eng *provision.Engine, name string, lab *labs.Lab, src []byte, n int) (*provision.Session, *provision.Plan) {
	t.Helper()
	sess, err := eng.NewSession(name, lab, src, provision.NumberedCandidates(n), "libvirt")
	if err != nil {
		t.Fatal(err)
	}
	plan, err := eng.Plan(context.Background(), sess, nil)
	if err != nil {
		t.Fatal(err)
	}
	return sess, plan
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
	eng := newEngine(t, dataDir, imageDir(t))
	lab, err := labs.Load("it-lab.yaml", []byte(itLab))
	if err != nil {
		t.Fatal(err)
	}
	sess, plan := sessionPlan(t, eng, "it1", lab, []byte(itLab), 2)
	if got := plan.Count(provision.OpCreate); got != 9 { // mgmt + 2 lan + 6 domains
		t.Fatalf("plan creates %d resources, want 9: %+v", got, plan.Actions)
	}
	start := time.Now()
	t.Cleanup(func() { _ = eng.Down(context.Background(), sess, nil, nopObserver{}) }) // also after a failed up: nothing left for the next test
	if err := eng.Up(ctx, plan, provision.ApplyOptions{}, nopObserver{}); err != nil {
		t.Fatalf("up: %v", err)
	}
	t.Logf("up of 2 candidates × (2 containers + 1 TCG VM): %s", time.Since(start))

	states, err := eng.State.Machines("it1")
	if err != nil {
		t.Fatal(err)
	}
	if len(states) != 6 {
		t.Fatalf("recorded %d machines, want 6", len(states))
	}
	for _, m := range states {
		if m.State != provision.StateReady {
			t.Errorf("%s/%s: state %s (%s), want ready", m.Candidate, m.Machine, m.State, m.Error)
		}
		if m.Kind == labs.KindVM {
			checkVM(t, dataDir, m)
			continue
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
	if want := naming.MAC("it1", "c01", "srv", 0); !strings.Contains(out, want) {
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
	if plan2.Count(provision.OpKeep) != 9 || len(plan2.Actions) != 9 {
		t.Errorf("second plan: %s, want 9 to keep", plan2.Summary())
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
	if vols, _ := filepath.Glob(filepath.Join(dataDir, "pool", "tl-"+session+".*")); len(vols) > 0 {
		t.Errorf("volumes left behind: %v", vols)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "machines", session)); !os.IsNotExist(err) {
		t.Errorf("machine dir of session %s still exists", session)
	}
	if _, err := eng.State.Session(session); err == nil {
		t.Errorf("session %s still in the store", session)
	}
}

// cli is the tailab command line, built from cmd/tailab, run with the data
// directory and settings of env: the tests that drive it as an admin would.
type cli struct {
	bin string
	env []string
}

// newCLI builds tailab for the test and gives it env (added to the test's).
func newCLI(t *testing.T, env ...string) cli {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tailab")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/tailab").CombinedOutput(); err != nil {
		t.Fatalf("build tailab: %v\n%s", err, out)
	}
	return cli{bin: bin, env: append(os.Environ(), env...)}
}

// command is tailab args, not started.
func (c cli) command(args ...string) *exec.Cmd {
	cmd := exec.Command(c.bin, args...)
	cmd.Env = c.env
	return cmd
}

// run runs tailab args and returns what it printed.
func (c cli) run(args ...string) (string, error) {
	out, err := c.command(args...).CombinedOutput()
	return string(out), err
}

// killAfter starts tailab args and kills it with SIGKILL once it printed n
// lines that match (half-way through an up or a down); it fails the test
// when the command ended before.
func (c cli) killAfter(t *testing.T, n int, match func(line string) bool, args ...string) {
	t.Helper()
	cmd := c.command(args...)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	seen := 0
	for seen < n && sc.Scan() {
		if match(sc.Text()) {
			seen++
		}
	}
	if seen == n {
		_ = cmd.Process.Signal(syscall.SIGKILL)
	}
	_ = cmd.Wait()
	if seen < n {
		t.Fatalf("%s finished before it could be killed (saw %d of the %d lines awaited)", args[0], seen, n)
	}
}

// machineCreated matches up's line for a machine created ("c01/srv created").
func machineCreated(line string) bool {
	return strings.Contains(line, " created") && strings.Contains(line, "/")
}

// writeLab writes a lab file for the command line.
func writeLab(t *testing.T, text string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "lab.yaml")
	if err := os.WriteFile(f, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestKillDuringUpThenReconcile kills `tailab up` with SIGKILL half-way, then
// proves a second `up` finishes the job and `down` removes everything.
func TestKillDuringUpThenReconcile(t *testing.T) {
	needDaemon(t)
	dataDir := t.TempDir()
	labFile := writeLab(t, itLab)
	images := imageDir(t)
	tailab := newCLI(t, "TAILAB_DATA_DIR="+dataDir, "TAILAB_VIRT_TYPE=qemu", "TAILAB_IMAGE_DIR="+images)
	tailab.killAfter(t, 2, machineCreated, "up", labFile, "--session", "kill", "--count", "3", "--parallel", "1")

	var mu sync.Mutex
	var out strings.Builder
	again := tailab.command("up", labFile, "--session", "kill", "--count", "3")
	again.Stdout, again.Stderr = &lockedWriter{&mu, &out}, &lockedWriter{&mu, &out}
	if err := again.Run(); err != nil {
		t.Fatalf("second up: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "to keep") || strings.Count(out.String(), " ready") < 9 {
		t.Errorf("second up did not reconcile to 9 ready machines:\n%s", out.String())
	}
	eng := newEngine(t, dataDir, images)
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
	if out, err := tailab.run("down", "--session", "kill"); err != nil {
		t.Fatalf("down: %v\n%s", err, out)
	}
	assertNothingLeft(t, eng, "kill", dataDir)
}

// checkVM proves a VM is a thin clone of the base image and answers on its
// management address with its lab address configured.
func checkVM(t *testing.T, dataDir string, m provision.MachineState) {
	t.Helper()
	vol := filepath.Join(dataDir, "pool", naming.VolumeName(m.Session, m.Candidate, m.Machine, 0))
	info, err := exec.Command("qemu-img", "info", "-U", "--output=json", vol).Output()
	if err != nil {
		t.Fatalf("%s/%s: overlay %s: %v", m.Candidate, m.Machine, vol, err)
	}
	if !strings.Contains(string(info), `"backing-filename"`) {
		t.Errorf("%s/%s: overlay has no backing file (not a thin clone): %s", m.Candidate, m.Machine, info)
	}
	if st, err := os.Stat(vol); err == nil && st.Size() > 16<<20 {
		t.Errorf("%s/%s: overlay is %d bytes: the base image was copied", m.Candidate, m.Machine, st.Size())
	}
	c, err := net.DialTimeout("tcp", net.JoinHostPort(m.MgmtAddress, "80"), 5*time.Second)
	if err != nil {
		t.Fatalf("%s/%s: http on %s: %v", m.Candidate, m.Machine, m.MgmtAddress, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET / HTTP/1.0\r\n\r\n")
	var page strings.Builder
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		page.WriteString(sc.Text() + "\n")
	}
	if !strings.Contains(page.String(), "hostname="+m.Machine) || !strings.Contains(page.String(), m.Addresses["lan"]) {
		t.Errorf("%s/%s: page does not show hostname %s and address %s:\n%s", m.Candidate, m.Machine, m.Machine, m.Addresses["lan"], page.String())
	}
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
