package libvirt_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/tailab/tailab/internal/testenv"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
)

const sambaLab = `name: samba-lab
secrets:
  key: {ssh_key: true}
networks:
  - {name: lan, cidr: 10.30.2.0/24}
defaults:
  kind: container
  os: linux
  credentials: {ssh: {user: root, key: key}}
machines:
  - name: dc
    role: dc
    hostname: dc.lab.local
    memory: 512MiB
    services: [sshd, samba-dc]
    ready: {ssh: false, tcp: 636, timeout: 180s}
    nics: [{network: lan, address: 10.30.2.10}]
    files:
      /srv/samba-dc.env: |
        REALM=lab.local
        DOMAIN=LAB
        DC_HOST=dc
        DC_IP=10.30.2.10
        ADMINPASS='Adm1n-Secret-42'
`

// TestSambaDCSecretsPerMachine: two candidates' DCs of the same domain start
// from the same host template, yet share no secret: krbtgt keys, the DC's
// machine account and its TLS key differ between them and from the
// template's (the TLS key is the one the host made for that machine), and
// each DC still authenticates its Administrator over LDAP.
func TestSambaDCSecretsPerMachine(t *testing.T) {
	needDaemon(t)
	rootfs := containedRootFS(t)
	testenv.RequireBinary(t, "samba-tool")
	ctx := context.Background()
	lab, err := labs.Load("samba-lab.yaml", []byte(sambaLab))
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := provision.EnsureSambaDCTemplate(ctx, provision.SambaDCSpec{Realm: "lab.local", Domain: "LAB", Host: "dc", IP: "10.30.2.10"})
	if err != nil {
		t.Fatal(err)
	}
	eng := newEngineLayout(t, t.TempDir(), "", rootfs)
	sess, plan := sessionPlan(t, eng, "sdc", lab, []byte(sambaLab), 2)
	t.Cleanup(func() { _ = eng.Down(context.Background(), sess, nil, nopObserver{}) })
	uerr := eng.Up(ctx, plan, provision.ApplyOptions{}, nopObserver{})
	states, err := eng.State.Machines("sdc")
	if err != nil {
		t.Fatal(err)
	}
	if uerr != nil {
		for _, m := range states {
			out, _ := sshRun(t, eng.State, lab, "sdc", m.Candidate, m.MgmtAddress, "tail -n 20 /run/samba-secrets.log /run/samba.log /run/samba-provision.log; ls -la /srv /srv/samba-dc*; hostname")
			t.Logf("%s: %s\n%s", m.Candidate, m.State, out)
		}
		t.Fatalf("up: %v", uerr)
	}
	// The secrets as samba-tool reads them from a DC's own database.
	const read = `D=/srv/samba-dc; for a in krbtgt 'DC$'; do samba-tool user getpassword "$a" --attributes=unicodePwd -s $D/etc/smb.conf -H tdb://$D/private/sam.ldb 2>&1 | grep unicodePwd:; done; ` +
		`sha256sum <$D/private/tls/key.pem; sha256sum </srv/samba-dc-tls/key.pem; ` +
		`samba-tool user list -H ldap://127.0.0.1 -U 'Administrator%Adm1n-Secret-42' 2>&1 | grep -x krbtgt`
	seen := map[string]string{}
	for _, m := range states {
		if m.State != provision.StateReady {
			t.Fatalf("%s/%s: %s (%s)", m.Candidate, m.Machine, m.State, m.Error)
		}
		out, err := sshRun(t, eng.State, lab, "sdc", m.Candidate, m.MgmtAddress, read)
		lines := strings.Split(out, "\n")
		if err != nil || len(lines) != 5 || lines[3] != lines[2] || lines[4] != "krbtgt" {
			t.Fatalf("%s: %v\n%s", m.Candidate, err, out)
		}
		for _, l := range lines[:3] {
			if other, ok := seen[l]; ok {
				t.Errorf("%s shares a secret with %s: %s", m.Candidate, other, l)
			}
			seen[l] = m.Candidate
		}
	}
	// And neither DC kept the template's.
	for _, a := range []string{"krbtgt", "DC$"} {
		out, err := exec.Command("samba-tool", "user", "getpassword", a, "--attributes=unicodePwd",
			"-s", tmpl+"/etc/smb.conf", "-H", "tdb://"+tmpl+"/private/sam.ldb").CombinedOutput()
		if err != nil {
			t.Fatalf("template's %s: %v\n%s", a, err, out)
		}
		for _, l := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(l, "unicodePwd:") {
				if c, ok := seen[l]; ok {
					t.Errorf("%s's DC kept the template's %s", c, a)
				}
			}
		}
	}
}
