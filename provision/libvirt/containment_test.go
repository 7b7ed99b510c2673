package libvirt_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tailab/tailab/internal/testenv"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/provision/libvirt"
	"github.com/tailab/tailab/provision/naming"
)

const containLab = `name: contain-lab
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
  - {name: srv, role: server, services: [sshd], nics: [{network: lan, address: 10.31.0.10}],
     files: {/srv/secret.txt: "c-secret\n"}}
  - {name: pc, role: client, services: [sshd], nics: [{network: lan, address: 10.31.0.20}]}
`

// containedRootFS is the lab rootfs this binary expects (scripts/build-rootfs.sh,
// run by scripts/install-deps.sh): a test of the contained layout needs it.
func containedRootFS(t *testing.T) string {
	t.Helper()
	dir := libvirt.DefaultRootFS()
	if err := libvirt.CheckRootFS(dir); err != nil {
		testenv.Unavailable(t, "%v", err)
	}
	return dir
}

// wantCapEff is the capability set of a contained machine's root: chown
// dac_override fowner fsetid kill setgid setuid setpcap net_bind_service
// net_broadcast net_admin net_raw sys_chroot audit_write (no sys_admin, bit 21).
const wantCapEff = "0000000020043dfb"

// TestContainedMachines is a hostile candidate, root in their container (over
// the grader's own SSH path, as the gateway's shell would be): every escape the
// layout before containment allowed is tried, and must fail.
func TestContainedMachines(t *testing.T) {
	needDaemon(t)
	rootfs := containedRootFS(t)
	ctx := context.Background()
	dataDir := t.TempDir()
	eng := newEngineLayout(t, dataDir, "", rootfs)
	lab, err := labs.Load("contain-lab.yaml", []byte(containLab))
	if err != nil {
		t.Fatal(err)
	}
	sess, plan := sessionPlan(t, eng, "ct1", lab, []byte(containLab), 2)
	t.Cleanup(func() { _ = eng.Down(context.Background(), sess, nil, nopObserver{}) }) // also after a failed up: nothing left for the next test
	if err := eng.Up(ctx, plan, provision.ApplyOptions{}, nopObserver{}); err != nil {
		t.Fatalf("up: %v", err)
	}
	states, err := eng.State.Machines("ct1")
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]provision.MachineState{}
	for _, m := range states {
		byName[m.Candidate+"/"+m.Machine] = m
		if m.State != provision.StateReady {
			t.Fatalf("%s/%s: %s (%s)", m.Candidate, m.Machine, m.State, m.Error)
		}
		if m.UIDBase == 0 || m.UIDBase%(1<<22) != 0 {
			t.Errorf("%s/%s: uid base %d recorded, want a nonzero multiple of 4194304", m.Candidate, m.Machine, m.UIDBase)
		}
	}
	srv1, pc1, srv2 := byName["c01/srv"], byName["c01/pc"], byName["c02/srv"]
	run := func(m provision.MachineState, cmd string) (string, error) {
		return sshRun(t, eng.State, lab, "ct1", m.Candidate, m.MgmtAddress, cmd)
	}
	other := filepath.Join(dataDir, "machines", "ct1", "c02", "srv", "srv")

	t.Run("no host file system", func(t *testing.T) {
		// No sys_admin: no mount at all, not even of the machine's own root
		// (the bind mount and remount of issue 18 fail), no host name change.
		script := fmt.Sprintf(`mkdir -p /tmp/h && mount --bind / /tmp/h 2>/dev/null && echo MOUNTED; `+
			`mount -o remount,bind,rw / 2>/dev/null && echo REMOUNTED; mount -o remount,ro / 2>/dev/null && echo REMOUNTED-RO; `+
			`mount -t tmpfs tmpfs /tmp/h 2>/dev/null && echo MOUNTED-TMPFS; hostname other 2>/dev/null && echo RENAMED; `+
			`for p in %[1]s %[1]s/state.db %[2]s /etc/libvirt /root/.local/share/tailab; do [ -e "$p" ] && echo "VISIBLE $p"; done; `+
			`grep -rl c-secret /srv 2>/dev/null; grep -l 'passwd=' -r /etc /var 2>/dev/null | grep -v namespace.init | sed 's/^/PASSWD-IN /'; true`, dataDir, other)
		out, err := run(srv1, script)
		if err != nil {
			t.Fatalf("ssh: %v\n%s", err, out)
		}
		for _, bad := range []string{"VISIBLE", "MOUNTED", "REMOUNTED", "RENAMED", "PASSWD-IN"} {
			if strings.Contains(out, bad) {
				t.Errorf("from c01/srv as root:\n%s", out)
				break
			}
		}
		if !strings.Contains(out, "/srv/secret.txt") {
			t.Errorf("c01/srv does not see its own /srv/secret.txt:\n%s", out)
		}
	})

	t.Run("writable root of its own", func(t *testing.T) {
		// The root is an overlay: the candidate's changes to /root, /etc,
		// /home land in the machine's own layer, never in the shared rootfs
		// or another machine.
		out, err := run(srv1, "echo mine >/root/note && echo 'u1:x:1500:1500::/home/u1:/bin/sh' >>/etc/passwd && mkdir -p /home/u1 && cat /root/note")
		if err != nil || out != "mine" {
			t.Fatalf("writing /root, /etc, /home in c01/srv: %v %q", err, out)
		}
		out, err = run(srv2, "cat /root/note 2>&1; grep -c ^u1: /etc/passwd")
		if err == nil || !strings.Contains(out, "No such file") || !strings.HasSuffix(out, "0") {
			t.Errorf("c02/srv sees c01/srv's changes: %v %q", err, out)
		}
		if b, err := os.ReadFile(filepath.Join(rootfs, "etc/passwd")); err != nil || strings.Contains(string(b), "u1:") {
			t.Errorf("the shared rootfs was changed: %v", err)
		}
	})

	t.Run("trimmed capabilities, no host root", func(t *testing.T) {
		out, err := run(srv1, "grep CapEff /proc/self/status /proc/1/status; cat /proc/self/uid_map")
		if err != nil {
			t.Fatalf("ssh: %v\n%s", err, out)
		}
		if strings.Count(out, wantCapEff) != 2 {
			t.Errorf("CapEff in c01/srv, want %s for the shell and PID 1:\n%s", wantCapEff, out)
		}
		if f := strings.Fields(out); len(f) < 3 || f[len(f)-2] != strconv.Itoa(int(srv1.UIDBase)) {
			t.Errorf("uid_map %q, want 0 %d %d", out, srv1.UIDBase, 1<<22)
		}
		uid := hostUID(t, "ct1", "c01", "srv")
		if uid == 0 || uid != srv1.UIDBase {
			t.Errorf("c01/srv's PID 1 runs as host uid %d, want its base %d (not 0)", uid, srv1.UIDBase)
		}
		if srv1.UIDBase == srv2.UIDBase || srv1.UIDBase == pc1.UIDBase {
			t.Errorf("uid ranges shared: c01/srv %d, c01/pc %d, c02/srv %d", srv1.UIDBase, pc1.UIDBase, srv2.UIDBase)
		}
	})

	t.Run("no connection to the host", func(t *testing.T) {
		host, _, err := naming.MgmtHost(sess.MgmtCIDR)
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(host.String(), "0"))
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		accepted := make(chan struct{}, 1)
		go func() {
			if c, err := ln.Accept(); err == nil {
				accepted <- struct{}{}
				c.Close()
			}
		}()
		port := ln.Addr().(*net.TCPAddr).Port
		out, err := run(srv1, fmt.Sprintf("busybox nc -w 3 %s %d </dev/null && echo CONNECTED", host, port))
		if strings.Contains(out, "CONNECTED") || err == nil {
			t.Errorf("c01/srv connected to the host's port %d over the management path: %v %s", port, err, out)
		}
		select {
		case <-accepted:
			t.Errorf("the host accepted a connection from c01/srv on port %d", port)
		case <-time.After(500 * time.Millisecond):
		}
	})

	t.Run("no spoofing on the management path", func(t *testing.T) {
		victim := srv2.MgmtAddress
		victimMAC := naming.MAC("ct1", "c02", "srv", 99)
		if _, err := run(srv2, "true"); err != nil { // the host has c02/srv's neighbour entry
			t.Fatal(err)
		}
		dev := "eth1"
		script := fmt.Sprintf(`ip addr add %[1]s/32 dev %[2]s && busybox arping -U -c 2 -I %[2]s -s %[1]s %[1]s >/dev/null 2>&1; `+
			`ip link set %[2]s address %[3]s && busybox arping -U -c 2 -I %[2]s -s %[1]s %[1]s >/dev/null 2>&1; true`, victim, dev, victimMAC)
		// Run in the background: changing the MAC cuts this very session.
		_, _ = run(pc1, "nohup sh -c '"+strings.ReplaceAll(script, "'", `'\''`)+"' >/dev/null 2>&1 &")
		time.Sleep(3 * time.Second)
		neigh, err := exec.Command("ip", "neigh", "show", victim).CombinedOutput()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(neigh), victimMAC) {
			t.Errorf("after c01/pc claimed %s, the host's neighbour entry is %q, want c02/srv's MAC %s", victim, neigh, victimMAC)
		}
		out, err := run(srv2, "cat /proc/sys/kernel/hostname")
		if err != nil || out != "srv" {
			t.Errorf("the grader's connection to %s reached %q (%v), want c02/srv", victim, out, err)
		}
	})

	// down takes the mounts, the uid ranges and the filter elements away.
	if err := eng.Down(ctx, sess, nil, nopObserver{}); err != nil {
		t.Fatal(err)
	}
	mi, err := os.ReadFile(fmt.Sprintf("/proc/%s/mountinfo", os.Getenv("TAILAB_LIBVIRTD_PID")))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(mi), "/tl-ct1.") {
		t.Errorf("mounts of session ct1 left in libvirtd's namespace")
	}
	if out, _ := exec.Command("nft", "list", "set", "bridge", "tailab_mgmt", "ok4").CombinedOutput(); strings.Contains(string(out), libvirt.MgmtPortName("tl-ct1.c01.srv")) {
		t.Errorf("filter element of tl-ct1.c01.srv left:\n%s", out)
	}
	if b, _ := os.ReadFile(libvirt.DefaultUIDTable); strings.Contains(string(b), dataDir) {
		t.Errorf("uid ranges of session ct1 left in %s:\n%s", libvirt.DefaultUIDTable, b)
	}
}

// hostUID is the host uid of a container's PID 1 (found by its init
// environment), read from /proc/PID/status on the host.
func hostUID(t *testing.T, session, candidate, machine string) uint32 {
	t.Helper()
	want := []string{"TAILAB_SESSION=" + session, "TAILAB_CANDIDATE=" + candidate, "TAILAB_MACHINE=" + machine}
	pids, _ := filepath.Glob("/proc/[0-9]*/environ")
	for _, p := range pids {
		env, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		vars := strings.Split(string(env), "\x00")
		ok := true
		for _, w := range want {
			ok = ok && slices.Contains(vars, w)
		}
		if !ok {
			continue
		}
		status, err := os.ReadFile(filepath.Join(filepath.Dir(p), "status"))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(status), "\n") {
			if f := strings.Fields(line); len(f) > 1 && f[0] == "Uid:" {
				n, _ := strconv.ParseUint(f[1], 10, 32)
				return uint32(n)
			}
		}
	}
	t.Fatalf("no process of %s/%s/%s on the host", session, candidate, machine)
	return 0
}
