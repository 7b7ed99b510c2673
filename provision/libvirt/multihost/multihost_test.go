package multihost

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tailab/tailab/internal/testenv"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/provision/libvirt"
	"github.com/tailab/tailab/provision/naming"
)

// mhLab is one container per candidate. Its 512 MiB (a limit for a container,
// not a reservation) make placement clear-cut on two daemons of one machine,
// whose free memory is the same: the second candidate goes to the other host.
const mhLab = `name: mh-lab
secrets:
  key: {ssh_key: true}
networks:
  - {name: lan, cidr: 10.40.0.0/24}
defaults:
  kind: container
  os: linux
  memory: 512MiB
  credentials: {ssh: {user: root, key: key}}
  ready: {ssh: true, timeout: 3s} # the test reaches only h1's management network
machines:
  - {name: srv, role: server, services: [sshd], nics: [{network: lan, address: 10.40.0.10}]}
`

type nopObserver struct{}

func (nopObserver) Event(provision.Event)          {}
func (nopObserver) Machine(provision.MachineState) {}

func needDaemons(t *testing.T) {
	t.Helper()
	if daemons[0]["TAILAB_LXC_URI"] == "" || daemons[1]["TAILAB_LXC_URI"] == "" {
		testenv.Unavailable(t, "no private libvirtd (needs root and libvirt-daemon-driver-lxc; see scripts/libvirtd-netns.sh)")
	}
}

// hosts are the two daemons as hosts h1 and h2, each with its own /var.
func hosts() []libvirt.Host {
	var out []libvirt.Host
	for i, d := range daemons {
		out = append(out, libvirt.Host{Name: fmt.Sprintf("h%d", i+1), QEMU: d["TAILAB_QEMU_URI"], LXC: d["TAILAB_LXC_URI"], HostVar: d["TAILAB_HOSTVAR"]})
	}
	return out
}

// sshBanner reads the SSH banner of addr from inside network namespace ns: a
// host's management network is only reachable from its own namespace.
func sshBanner(ctx context.Context, ns, addr string) (string, error) {
	out, err := exec.CommandContext(ctx, "ip", "netns", "exec", ns, "timeout", "2",
		"bash", "-c", fmt.Sprintf("exec 3<>/dev/tcp/%s/22 && head -c 4 <&3", addr)).Output()
	return string(out), err
}

// waitSSH waits until addr answers with an SSH banner from namespace ns.
func waitSSH(t *testing.T, ns, addr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	for {
		b, err := sshBanner(ctx, ns, addr)
		if b == "SSH-" {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("%s in netns %s: no SSH banner (%q, %v)", addr, ns, b, err)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// tailabObjects lists the tailab domains and networks of a daemon.
func tailabObjects(t *testing.T, uri string) []string {
	t.Helper()
	var out []string
	for _, args := range [][]string{{"list", "--all", "--name"}, {"net-list", "--all", "--name"}} {
		b, err := exec.Command("virsh", append([]string{"-q", "-c", uri}, args...)...).Output()
		if err != nil {
			t.Fatalf("virsh %v on %s: %v", args, uri, err)
		}
		for _, f := range strings.Fields(string(b)) {
			if strings.HasPrefix(f, naming.Prefix) {
				out = append(out, f)
			}
		}
	}
	return out
}

// TestTwoHostsUpStatusDown places 2 candidates × 1 container on two daemons,
// proves each came up on its own host (reachable in that host's namespace),
// that status and a second plan see them there, and that down clears both.
func TestTwoHostsUpStatusDown(t *testing.T) {
	needDaemons(t)
	ctx := context.Background()
	dataDir := t.TempDir()
	st, err := provision.OpenState(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	cfg := libvirt.Config{DataDir: dataDir, VirtType: "qemu", Hosts: hosts()}
	cfg.Complete()
	cfg.HostVar = cfg.Hosts[0].HostVar
	p := libvirt.New(cfg)
	defer p.Close()
	eng := &provision.Engine{State: st, Provider: p}
	lab, err := labs.Load("mh-lab.yaml", []byte(mhLab))
	if err != nil {
		t.Fatal(err)
	}
	sess, err := eng.NewSession("mh1", lab, []byte(mhLab), provision.NumberedCandidates(2), libvirt.Name)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := eng.Plan(ctx, sess, nil)
	if err != nil {
		t.Fatal(err)
	}
	where := map[string]string{}
	for _, a := range plan.Actions {
		t.Logf("%s %s %s on %s", a.Op, a.Resource.Type, a.Resource.Name, a.Resource.Host)
		if a.Resource.Type == "domain" {
			where[a.Resource.Candidate] = a.Resource.Host
		}
	}
	if where["c01"] == "" || where["c02"] == "" || where["c01"] == where["c02"] {
		t.Fatalf("candidates not spread over the two hosts: %v", where)
	}
	start := time.Now()
	// NoWait: readiness is checked below from each host's own namespace.
	if err := eng.Up(ctx, plan, provision.ApplyOptions{NoWait: true}, nopObserver{}); err != nil {
		t.Fatalf("up: %v", err)
	}
	t.Cleanup(func() { _ = eng.Down(context.Background(), sess, nil, nopObserver{}) })

	ns := map[string]string{"h1": daemons[0]["TAILAB_NETNS"], "h2": daemons[1]["TAILAB_NETNS"]}
	uri := map[string]string{"h1": daemons[0]["TAILAB_LXC_URI"], "h2": daemons[1]["TAILAB_LXC_URI"]}
	states, err := st.Machines("mh1")
	if err != nil {
		t.Fatal(err)
	}
	if len(states) != 2 {
		t.Fatalf("recorded %d machines, want 2", len(states))
	}
	for _, m := range states {
		if m.Host != where[m.Candidate] {
			t.Errorf("%s recorded on host %q, planned on %q", m.Key(), m.Host, where[m.Candidate])
		}
		waitSSH(t, ns[m.Host], m.MgmtAddress)
		objs := tailabObjects(t, uri[m.Host])
		if !strings.Contains(strings.Join(objs, " "), naming.DomainName("mh1", m.Candidate, m.Machine)) {
			t.Errorf("%s not on its host %s: %v", m.Key(), m.Host, objs)
		}
	}
	t.Logf("up of 2 candidates on 2 hosts, both answering ssh: %s", time.Since(start))

	// status reads each machine from its host.
	live, err := p.Status(ctx, sess, plan.Instances)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range live {
		if m.Host != where[m.Candidate] || (m.State != provision.StateReady && m.State != provision.StateNotReady) {
			t.Errorf("status %s: %s on %s, want running on %s", m.Key(), m.State, m.Host, where[m.Candidate])
		}
	}

	// access, snapshots and reset act on the host of each candidate's lab.
	acc, err := eng.Access(ctx, sess, nil)
	if err != nil {
		t.Fatalf("access: %v", err)
	}
	if len(acc) != 2 {
		t.Fatalf("access lists %d machines, want 2", len(acc))
	}
	for _, a := range acc {
		if a.State != provision.StateRunning {
			t.Errorf("access %s/%s: %s, want running (on %s)", a.Candidate, a.Machine, a.State, where[a.Candidate])
		}
	}
	// (A container snapshot restarts it and waits until it answers: this test
	// runs in h1's namespace, so h2's machine is taken but not seen ready.)
	for _, c := range []string{"c01", "c02"} {
		_, err := eng.CreateSnapshot(ctx, sess, c, "srv", "avant")
		if where[c] == "h2" && err != nil && strings.Contains(err.Error(), `snapshot "avant" taken, but the container is not ready again`) {
			err = nil
		}
		if err != nil {
			t.Fatalf("snapshot %s on %s: %v", c, where[c], err)
		}
		snaps, err := eng.ListSnapshots(ctx, sess, c, "srv")
		if err != nil || len(snaps) != 1 || snaps[0].Name != "avant" {
			t.Errorf("snapshots of %s on %s: %v, %v", c, where[c], snaps, err)
		}
		if err := eng.Reset(ctx, sess, c, "srv", provision.ApplyOptions{NoWait: true}, nopObserver{}); err != nil {
			t.Errorf("reset %s on %s: %v", c, where[c], err)
		}
		if err := eng.DeleteSnapshot(ctx, sess, c, "srv", "avant"); err != nil {
			t.Errorf("delete snapshot of %s on %s: %v", c, where[c], err)
		}
	}

	// A second plan keeps everything where it is.
	plan2, err := eng.Plan(ctx, sess, nil)
	if err != nil {
		t.Fatal(err)
	}
	if plan2.Count(provision.OpKeep) != len(plan2.Actions) {
		t.Errorf("second plan: %s", plan2.Summary())
	}
	for _, a := range plan2.Actions {
		if a.Resource.Type == "domain" && a.Resource.Host != where[a.Resource.Candidate] {
			t.Errorf("second plan moves %s to %s", a.Resource.Name, a.Resource.Host)
		}
	}

	// down leaves nothing on either host.
	if err := eng.Down(ctx, sess, nil, nopObserver{}); err != nil {
		t.Fatalf("down: %v", err)
	}
	for h, u := range uri {
		if objs := tailabObjects(t, u); len(objs) > 0 {
			t.Errorf("host %s after down: %v", h, objs)
		}
	}
	orphans, err := p.Orphans(ctx, map[string]bool{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range orphans {
		if strings.Contains(r.Name, "mh1") {
			t.Errorf("left behind on %s: %s %s", r.Host, r.Type, r.Name)
		}
	}
}
