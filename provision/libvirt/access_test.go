package libvirt_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tailab/tailab/internal/rfb"
	"github.com/tailab/tailab/internal/testenv/guest"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/provision/naming"
)

const accessLab = `name: access-lab
secrets:
  key: {ssh_key: true}
networks:
  - {name: lan, cidr: 10.31.0.0/24}
defaults:
  kind: container
  os: linux
  memory: 64MiB
  credentials: {ssh: {user: root, key: key}}
  ready: {ssh: true, timeout: 30s}
machines:
  - name: srv
    role: server
    services: [sshd]
    nics: [{network: lan, address: 10.31.0.10}]
    files: {/srv/marker: "original"}
  - {name: ws, role: client, kind: vm, image: tiny, memory: 128MiB, nics: [{network: lan, address: 10.31.0.30}],
     ready: {ssh: false, tcp: 80, timeout: 2m}}
`

// TestAccessResetSnapshots brings up 2 candidates × (1 container + 1 TCG VM)
// and proves: each VM's VNC console completes the RFB handshake with its
// candidate's password and refuses the other candidate's; reset restores a
// container's and a VM's marker file; reverting a named snapshot restores its
// content; the audit log has every action.
func TestAccessResetSnapshots(t *testing.T) {
	needDaemon(t)
	ctx := context.Background()
	dataDir := t.TempDir()
	eng := newEngine(t, dataDir, imageDir(t))
	lab, err := labs.Load("access-lab.yaml", []byte(accessLab))
	if err != nil {
		t.Fatal(err)
	}
	sess, plan := sessionPlan(t, eng, "acc", lab, []byte(accessLab), 2)
	start := time.Now()
	t.Cleanup(func() { _ = eng.Down(context.Background(), sess, nil, nopObserver{}) }) // also after a failed up: nothing left for the next test
	if err := eng.Up(ctx, plan, provision.ApplyOptions{}, nopObserver{}); err != nil {
		t.Fatalf("up: %v", err)
	}
	t.Logf("up of 2 candidates × (1 container + 1 TCG VM): %s", time.Since(start).Round(time.Millisecond))

	// Consoles: one per VM, on loopback, each candidate's password opens only theirs.
	acc := access(t, eng, sess)
	c1, c2 := acc["c01/ws"].Console, acc["c02/ws"].Console
	if c1 == nil || c2 == nil || c1.Port == 0 || c2.Port == 0 {
		t.Fatalf("VM consoles without a port: %+v %+v", c1, c2)
	}
	if acc["c01/srv"].Console != nil {
		t.Errorf("a container got a graphics console: %+v", acc["c01/srv"].Console)
	}
	if c1.Host != "127.0.0.1" || c1.Port == c2.Port {
		t.Errorf("consoles at %s and %s: want two ports on 127.0.0.1", c1.Address(), c2.Address())
	}
	p1, p2 := c1.Password.Reveal(), c2.Password.Reveal()
	if len(p1) != 8 || len(p2) != 8 || p1 == p2 {
		t.Fatalf("console passwords must be 8 characters and differ per candidate (got lengths %d, %d)", len(p1), len(p2))
	}
	t0 := time.Now()
	if err := vncAuth(c1.Address(), p1); err != nil {
		t.Errorf("c01's console refused c01's password: %v", err)
	}
	t.Logf("RFB 3.8 handshake with VNC authentication: %s", time.Since(t0).Round(time.Millisecond))
	if err := vncAuth(c1.Address(), p2); !errors.Is(err, rfb.ErrRefused) {
		t.Errorf("c01's console with c02's password: got %v, want refused", err)
	}
	if err := vncAuth(c2.Address(), p2); err != nil {
		t.Errorf("c02's console refused c02's password: %v", err)
	}
	if err := vncAuth(c2.Address(), p1); !errors.Is(err, rfb.ErrRefused) {
		t.Errorf("c02's console with c01's password: got %v, want refused", err)
	}
	if conn, err := net.DialTimeout("tcp", net.JoinHostPort("10.250.0.1", strconv.Itoa(c1.Port)), 2*time.Second); err == nil {
		conn.Close()
		t.Errorf("console answers on the management host address, not only on 127.0.0.1")
	}

	// Container: reset restores the lab's /srv; a named snapshot comes back on revert.
	srv := acc["c01/srv"].MgmtAddress
	ssh := func(cmd string) string {
		t.Helper()
		out, err := sshRun(t, eng.State, lab, "acc", "c01", srv, cmd)
		if err != nil {
			t.Fatalf("ssh c01/srv %q: %v: %s", cmd, err, out)
		}
		return out
	}
	if got := ssh("cat /srv/marker"); got != "original" {
		t.Fatalf("c01/srv marker = %q, want original", got)
	}
	ssh("echo changed > /srv/marker; echo x > /srv/extra; cat /srv/marker")
	t0 = time.Now()
	if err := eng.Reset(ctx, sess, "c01", "srv", provision.ApplyOptions{}, nopObserver{}); err != nil {
		t.Fatalf("reset c01/srv: %v", err)
	}
	t.Logf("container reset to ready: %s", time.Since(t0).Round(time.Millisecond))
	if got := ssh("cat /srv/marker; test -e /srv/extra && echo extra-left || true"); got != "original" {
		t.Errorf("after reset, c01/srv shows %q, want original (and no /srv/extra)", got)
	}
	ssh("echo snap1 > /srv/marker")
	t0 = time.Now()
	if _, err := eng.CreateSnapshot(ctx, sess, "c01", "srv", "s1"); err != nil {
		t.Fatalf("snapshot c01/srv: %v", err)
	}
	t.Logf("container snapshot (freeze, copy, thaw): %s", time.Since(t0).Round(time.Millisecond))
	ssh("echo after > /srv/marker")
	if err := eng.RevertSnapshot(ctx, sess, "c01", "srv", "s1", provision.ApplyOptions{}, nopObserver{}); err != nil {
		t.Fatalf("revert c01/srv: %v", err)
	}
	if got := ssh("cat /srv/marker"); got != "snap1" {
		t.Errorf("after revert to s1, c01/srv marker = %q, want snap1", got)
	}
	if out, err := sshRun(t, eng.State, lab, "acc", "c02", acc["c02/srv"].MgmtAddress, "cat /srv/marker"); err != nil || out != "original" {
		t.Errorf("c02/srv marker = %q (%v): another candidate's actions leaked", out, err)
	}

	// VM: the tiny guest shows the first line of /tailab-disk (on its qcow2
	// overlay) on its HTTP page, read at boot. setMarker writes the overlay
	// with qemu-io while the VM is off, then boots it.
	vm := newVMDisk(t, dataDir, "acc", "c01", "ws", acc["c01/ws"].MgmtAddress)
	if got := vm.read(); got != "tailab-base" {
		t.Fatalf("c01/ws disk marker = %q, want tailab-base", got)
	}
	vm.set("changed-one")
	if got := vm.read(); got != "changed-one" {
		t.Fatalf("after writing the overlay, c01/ws disk marker = %q, want changed-one", got)
	}
	t0 = time.Now()
	if err := eng.Reset(ctx, sess, "c01", "ws", provision.ApplyOptions{}, nopObserver{}); err != nil {
		t.Fatalf("reset c01/ws: %v", err)
	}
	t.Logf("VM reset (fresh overlay, boot, ready): %s", time.Since(t0).Round(time.Millisecond))
	if got := vm.read(); got != "tailab-base" {
		t.Errorf("after reset, c01/ws disk marker = %q, want tailab-base", got)
	}
	c1 = access(t, eng, sess)["c01/ws"].Console
	if err := vncAuth(c1.Address(), p1); err != nil {
		t.Errorf("after reset, c01's console refused c01's password: %v", err)
	}

	vm.set("snapshot-aa")
	t0 = time.Now()
	if _, err := eng.CreateSnapshot(ctx, sess, "c01", "ws", "s1"); err != nil {
		t.Fatalf("snapshot c01/ws: %v", err)
	}
	t.Logf("VM snapshot (running: disk + memory): %s", time.Since(t0).Round(time.Millisecond))
	vm.set("changed-bbb")
	if got := vm.read(); got != "changed-bbb" {
		t.Fatalf("c01/ws disk marker = %q, want changed-bbb", got)
	}
	t0 = time.Now()
	if err := eng.RevertSnapshot(ctx, sess, "c01", "ws", "s1", provision.ApplyOptions{}, nopObserver{}); err != nil {
		t.Fatalf("revert c01/ws: %v", err)
	}
	t.Logf("VM revert to a running snapshot, to ready: %s", time.Since(t0).Round(time.Millisecond))
	if got := vm.read(); got != "snapshot-aa" {
		t.Errorf("after revert (resumed from memory), c01/ws disk marker = %q, want snapshot-aa", got)
	}
	vm.restart() // a cold boot reads the disk itself: proves the overlay was restored
	if got := vm.read(); got != "snapshot-aa" {
		t.Errorf("after revert and a cold boot, c01/ws disk marker = %q, want snapshot-aa", got)
	}
	snaps, err := eng.ListSnapshots(ctx, sess, "c01", "")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range snaps {
		names = append(names, s.Machine+":"+s.Name+":"+s.Kind+":"+s.State)
	}
	if got := strings.Join(names, " "); got != "srv:s1:dir:running ws:s1:internal:running" {
		t.Errorf("snapshots of c01: %s", got)
	}
	if err := eng.DeleteSnapshot(ctx, sess, "c01", "ws", "s1"); err != nil {
		t.Errorf("delete snapshot: %v", err)
	}

	// The audit log has every action, in order.
	entries, err := eng.State.AuditLog("acc")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		if e.User == "" || e.Time.IsZero() {
			t.Errorf("audit entry without who or when: %+v", e)
		}
		got = append(got, strings.TrimSpace(fmt.Sprintf("%s %s/%s %s", e.Action, e.Candidate, e.Machine, e.Detail)))
	}
	want := []string{
		"up / 7 to create, 0 to keep, 0 to replace, 0 to remove",
		"reset c01/srv", "snapshot c01/srv create s1", "revert c01/srv to s1",
		"reset c01/ws", "snapshot c01/ws create s1", "revert c01/ws to s1", "snapshot c01/ws delete s1",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func access(t *testing.T, eng *provision.Engine, sess *provision.Session) map[string]provision.MachineAccess {
	t.Helper()
	list, err := eng.Access(context.Background(), sess, nil)
	if err != nil {
		t.Fatalf("access: %v", err)
	}
	out := map[string]provision.MachineAccess{}
	for _, a := range list {
		out[a.Candidate+"/"+a.Machine] = a
	}
	return out
}

// vncAuth logs in to a console at addr with password (rfb.Login, the
// gateway's own client), insisting on VNC authentication (a console that
// asks for no password fails), then ClientInit/ServerInit: a framebuffer.
func vncAuth(addr, password string) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(15 * time.Second))
	used, err := rfb.Login(c, password)
	if err != nil {
		return err
	}
	if used != rfb.SecVNCAuth {
		return fmt.Errorf("server does not ask for VNC authentication (security type %d): the console has no password", used)
	}
	if _, err := c.Write([]byte{1}); err != nil { // ClientInit, shared
		return err
	}
	init := make([]byte, 24) // ServerInit: width, height, pixel format, name length
	if _, err := io.ReadFull(c, init); err != nil {
		return fmt.Errorf("read ServerInit: %w", err)
	}
	if w, h := binary.BigEndian.Uint16(init[0:2]), binary.BigEndian.Uint16(init[2:4]); w == 0 || h == 0 {
		return fmt.Errorf("ServerInit with a %dx%d framebuffer", w, h)
	}
	return nil
}

// vmDisk changes and reads the tiny guest's disk marker /tailab-disk.
type vmDisk struct {
	t       *testing.T
	domain  string
	overlay string
	addr    string
	offset  int64 // of the marker's data in the ext2 file system
}

func newVMDisk(t *testing.T, dataDir, session, candidate, machine, mgmt string) *vmDisk {
	t.Helper()
	raw := filepath.Join(t.TempDir(), "base.raw")
	if out, err := exec.Command("qemu-img", "convert", "-O", "raw", guest.Build(t).BaseDisk, raw).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img convert: %v: %s", err, out)
	}
	debugfs := func(req string) string {
		out, err := exec.Command("debugfs", "-R", req, raw).Output()
		if err != nil {
			t.Fatalf("debugfs %s: %v", req, err)
		}
		return string(out)
	}
	block, err := strconv.ParseInt(strings.TrimSpace(debugfs("bmap /tailab-disk 0")), 10, 64)
	if err != nil {
		t.Fatalf("block of /tailab-disk: %v", err)
	}
	var size int64
	for _, l := range strings.Split(debugfs("stats"), "\n") {
		if v, ok := strings.CutPrefix(l, "Block size:"); ok {
			size, _ = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	if size == 0 {
		t.Fatal("no block size in debugfs stats")
	}
	os.Remove(raw)
	return &vmDisk{t: t, domain: naming.DomainName(session, candidate, machine),
		overlay: filepath.Join(dataDir, "pool", naming.VolumeName(session, candidate, machine, 0)),
		addr:    mgmt, offset: block * size}
}

func (v *vmDisk) virsh(args ...string) {
	v.t.Helper()
	out, err := exec.Command("virsh", append([]string{"-c", daemonEnv["TAILAB_QEMU_URI"]}, args...)...).CombinedOutput()
	if err != nil {
		v.t.Fatalf("virsh %v: %v: %s", args, err, out)
	}
}

// set powers the VM off, writes an 11-character marker (the length of
// "tailab-base", so the file's size stays right) into the overlay, and boots it.
func (v *vmDisk) set(marker string) {
	v.t.Helper()
	if len(marker) != 11 {
		v.t.Fatalf("marker %q must have 11 characters", marker)
	}
	v.virsh("destroy", v.domain)
	src := filepath.Join(v.t.TempDir(), "marker")
	if err := os.WriteFile(src, []byte(marker+"\n"), 0o644); err != nil {
		v.t.Fatal(err)
	}
	cmd := fmt.Sprintf("write -s %s %d %d", src, v.offset, len(marker)+1)
	if out, err := exec.Command("qemu-io", "-f", "qcow2", "-c", cmd, v.overlay).CombinedOutput(); err != nil {
		v.t.Fatalf("qemu-io %s: %v: %s", cmd, err, out)
	}
	v.virsh("start", v.domain)
}

func (v *vmDisk) restart() {
	v.t.Helper()
	v.virsh("destroy", v.domain)
	v.virsh("start", v.domain)
}

// read returns the disk= line of the guest's page, waiting for it to answer.
func (v *vmDisk) read() string {
	v.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	var last error
	for time.Now().Before(deadline) {
		page, err := httpGet(v.addr)
		if err == nil {
			for _, l := range strings.Split(page, "\n") {
				if d, ok := strings.CutPrefix(l, "disk="); ok {
					return d
				}
			}
			return "(no disk= line)"
		}
		last = err
		time.Sleep(300 * time.Millisecond)
	}
	v.t.Fatalf("%s: no HTTP answer: %v", v.domain, last)
	return ""
}

func httpGet(addr string) (string, error) {
	c, err := net.DialTimeout("tcp", net.JoinHostPort(addr, "80"), 2*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET / HTTP/1.0\r\n\r\n")
	var b strings.Builder
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		b.WriteString(sc.Text() + "\n")
	}
	if !strings.Contains(b.String(), "hostname=") {
		return "", fmt.Errorf("incomplete page: %q", b.String())
	}
	return b.String(), nil
}
