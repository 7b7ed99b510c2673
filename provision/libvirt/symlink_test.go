package libvirt_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
)

const linkLab = `name: link-lab
secrets:
  key: {ssh_key: true}
networks:
  - {name: lan, cidr: 10.32.0.0/24}
machines:
  - name: srv
    role: server
    kind: container
    os: linux
    memory: 64MiB
    services: [sshd]
    credentials: {ssh: {user: root, key: key}}
    ready: {ssh: true, timeout: 30s}
    nics: [{network: lan, address: 10.32.0.10}]
    files: {/srv/marker: "original"}
`

// TestResetDoesNotFollowPlantedLinks: a candidate, root in their container,
// links /srv's SSH host key and a lab file to a host file; `reset` used to read
// the host key through the link and copy the host file into their /srv. Now
// the machine comes back ready with a host key of its own, the lab's file
// regular, and the host file neither copied nor written.
func TestResetDoesNotFollowPlantedLinks(t *testing.T) {
	needDaemon(t)
	ctx := context.Background()
	dataDir := t.TempDir()
	eng := newEngine(t, dataDir, "")
	lab, err := labs.Load("link-lab.yaml", []byte(linkLab))
	if err != nil {
		t.Fatal(err)
	}
	sess, plan := sessionPlan(t, eng, "lnk", lab, []byte(linkLab), 1)
	if err := eng.Up(ctx, plan, provision.ApplyOptions{}, nopObserver{}); err != nil {
		t.Fatalf("up: %v", err)
	}
	t.Cleanup(func() { _ = eng.Down(context.Background(), sess, nil, nopObserver{}) })

	// A host file outside the data dir (which containers do not see).
	hostFile := filepath.Join(t.TempDir(), "host-secret")
	if err := os.WriteFile(hostFile, []byte("HOST SECRET\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := access(t, eng, sess)["c01/srv"].MgmtAddress
	if out, err := sshRun(t, eng.State, lab, "lnk", "c01", addr,
		"ln -sf "+hostFile+" /srv/ssh_host_ed25519_key && ln -sf "+hostFile+" /srv/marker && ls -l /srv/ssh_host_ed25519_key"); err != nil {
		t.Fatalf("plant the links: %v: %s", err, out)
	}

	if err := eng.Reset(ctx, sess, "c01", "srv", provision.ApplyOptions{}, nopObserver{}); err != nil {
		t.Fatalf("reset: %v", err)
	}
	if b, err := os.ReadFile(hostFile); err != nil || string(b) != "HOST SECRET\n" {
		t.Fatalf("the host file changed: %q %v", b, err)
	}
	srv := filepath.Join(dataDir, "machines", "lnk", "c01", "srv", "srv")
	for _, f := range []string{"ssh_host_ed25519_key", "marker"} {
		st, err := os.Lstat(filepath.Join(srv, f))
		if err != nil || !st.Mode().IsRegular() {
			t.Fatalf("/srv/%s after reset: %v %v, want a regular file", f, st, err)
		}
	}
	out, err := sshRun(t, eng.State, lab, "lnk", "c01", addr, "cat /srv/marker; echo; grep -c 'HOST SECRET' /srv/ssh_host_ed25519_key || true")
	if err != nil {
		t.Fatalf("ssh after reset: %v: %s", err, out)
	}
	if out != "original\n0" {
		t.Errorf("after reset the container shows %q, want the lab's marker and no host file", out)
	}
}
