package libvirt_test

import (
	"context"
	"os/exec"
	"strconv"
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
// each DC still takes its Administrator's writes over LDAP (an OU, a user).
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
	// The secrets as samba-tool reads them from a DC's own database: the
	// current NT hashes and key versions of krbtgt and the DC's account, its
	// TLS key (and the one the host made for it), and writes over LDAP.
	const read = `D=/srv/samba-dc; for a in krbtgt 'DC$'; do samba-tool user getpassword "$a" --attributes=unicodePwd,msDS-KeyVersionNumber -s $D/etc/smb.conf -H tdb://$D/private/sam.ldb 2>&1 | grep -E '^(unicodePwd|msDS-KeyVersionNumber):'; done; ` +
		`sha256sum <$D/private/tls/key.pem; sha256sum </srv/samba-dc-tls/key.pem; ` +
		`A="-H ldap://127.0.0.1 -U Administrator%Adm1n-Secret-42"; samba-tool ou create OU=Essai $A >/dev/null 2>&1 && ` +
		`samba-tool user create essai 'Essai-Pw-1234' --userou=OU=Essai $A >/dev/null 2>&1 && samba-tool user list $A 2>&1 | grep -x essai`
	tmplKVNO := map[string]int{}
	for _, a := range []string{"krbtgt", "DC$"} {
		out, err := exec.Command("samba-tool", "user", "getpassword", a, "--attributes=unicodePwd,msDS-KeyVersionNumber",
			"-s", tmpl+"/etc/smb.conf", "-H", "tdb://"+tmpl+"/private/sam.ldb").CombinedOutput()
		if err != nil {
			t.Fatalf("template's %s: %v\n%s", a, err, out)
		}
		for _, l := range strings.Split(string(out), "\n") {
			if v, ok := strings.CutPrefix(l, "msDS-KeyVersionNumber: "); ok {
				tmplKVNO[a], _ = strconv.Atoi(v)
			}
			if strings.HasPrefix(l, "unicodePwd:") {
				tmplKVNO[l] = 1 // the template's hash: no DC may have it
			}
		}
	}
	seen := map[string]string{}
	for _, m := range states {
		if m.State != provision.StateReady {
			t.Fatalf("%s/%s: %s (%s)", m.Candidate, m.Machine, m.State, m.Error)
		}
		if out, err := sshRun(t, eng.State, lab, "sdc", m.Candidate, m.MgmtAddress,
			`echo "$(cat /run/init.times) $(tr '\n' ' ' </run/samba-dc.times) $(date +%s.%N) now; host $(hostname)"`); err == nil {
			t.Logf("%s: %s", m.Candidate, out) // where a DC's start goes, in seconds since the epoch
		}
		out, err := sshRun(t, eng.State, lab, "sdc", m.Candidate, m.MgmtAddress, read)
		l := strings.Split(out, "\n")
		if err != nil || len(l) != 7 || l[4] != l[5] || l[6] != "essai" {
			t.Fatalf("%s: %v\n%s", m.Candidate, err, out)
		}
		// Three new passwords each: the template's keys are not even among
		// the previous ones the KDC still takes (OldKeys, OlderKeys).
		var kvnos []int
		var secrets []string
		for _, line := range l[:4] {
			if v, ok := strings.CutPrefix(line, "msDS-KeyVersionNumber: "); ok {
				n, _ := strconv.Atoi(v)
				kvnos = append(kvnos, n)
			} else {
				secrets = append(secrets, line)
			}
		}
		if len(kvnos) != 2 || len(secrets) != 2 {
			t.Fatalf("%s: %s", m.Candidate, out)
		}
		for i, a := range []string{"krbtgt", "DC$"} {
			if kvnos[i] < tmplKVNO[a]+3 {
				t.Errorf("%s: %s at key version %d, the template's %d: fewer than 3 new passwords", m.Candidate, a, kvnos[i], tmplKVNO[a])
			}
		}
		for _, s := range append(secrets, l[4]) {
			if tmplKVNO[s] == 1 {
				t.Errorf("%s's DC kept the template's %s", m.Candidate, s)
			}
			if other, ok := seen[s]; ok {
				t.Errorf("%s shares a secret with %s: %s", m.Candidate, other, s)
			}
			seen[s] = m.Candidate
		}
	}
}
