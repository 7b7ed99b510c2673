package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/internal/testenv"
	"github.com/tailab/tailab/internal/testenv/dnsmasq"
	"github.com/tailab/tailab/internal/testenv/sambadc"
	"github.com/tailab/tailab/internal/testenv/sshd"
)

// existingRoomLab is a lab of machines tailab does not create: a Linux
// server (ssh), a Samba AD DC (smb, three identities: alice the default, bob,
// and one whose password the DC refuses) and a DNS server.
const existingRoomLab = `name: salle-b12
description: Salle B12 du centre (machines existantes)
secrets:
  root-pw: {env: SALLE_ROOT_PW}
  alice-pw: {env: SALLE_ALICE_PW}
  bob-pw: {env: SALLE_BOB_PW}
  wrong-pw: {value: Not-The-Passw0rd}
networks: [{name: lan, cidr: 192.168.12.0/24}]
defaults: {kind: vm, image: existing, os: linux}
machines:
  - name: srv
    role: server
    nics: [{network: lan}]
    credentials:
      ssh: {user: root, password: root-pw}
  - name: dc
    role: dc
    os: windows
    nics: [{network: lan}]
    credentials:
      smb:
        alice: {user: alice, password: alice-pw, domain: %[1]s}
        bob: {user: bob, password: bob-pw, domain: %[1]s}
        intrus: {user: alice, password: wrong-pw, domain: %[1]s}
  - name: dns
    role: server
    nics: [{network: lan}]
%[2]s
checks: [suite.yaml]
`

const existingRoomSuite = `name: salle-b12
referential: tai-2018
checks:
  - {id: ssh-2222, title: Le serveur répond en SSH sur le port 2222, competence: C2.3, machine: srv, probe: {type: ssh, command: "set -- $SSH_CONNECTION; echo $4"}, expect: {stdout: "2222"}}
  - {id: srv-motd, title: Le message du jour existe, competence: C2.3, machine: srv, probe: {type: ssh, command: "test -f /etc/tailab-absent"}, expect: {exit_code: 0}}
  - {id: ssh-closed, title: Un port fermé, competence: C2.3, machine: srv, probe: {type: ssh, command: "true", port: %d}, expect: {exit_code: 0}}
  - {id: compta-alice, title: alice écrit dans Compta, competence: C2.2, machine: dc, probe: {type: smb, share: Compta, actions: [write]}, expect: {can_write: true}}
  - {id: compta-bob-lit, title: bob lit Compta, competence: C2.2, machine: dc, as: bob, probe: {type: smb, share: Compta, file: lisezmoi.txt, actions: [read]}, expect: {can_read: true}}
  - {id: compta-bob-ecrit, title: bob n'écrit pas dans Compta, competence: C2.2, machine: dc, as: bob, probe: {type: smb, share: Compta, actions: [write]}, expect: {can_write: false}}
  - {id: compta-intrus, title: Mot de passe refusé, competence: C2.2, machine: dc, as: intrus, probe: {type: smb, share: Compta}, expect: {can_list: true}}
  - {id: dns-intranet, title: intranet est résolu, competence: C2.3, machine: dns, probe: {dns: {name: intranet.salle.lan}}, expect: {answers: {contains: 192.168.12.80}}}
`

// TestExistingRoom is issue 14's acceptance test: in the test's network
// namespace, a Samba AD DC, an OpenSSH server on port 2222 and a dnsmasq
// that tailab did not provision; an inventory; `up --provider static`,
// `status`, `grade`: every verdict as expected (a share as a second user, an
// error, not a fail, for a closed port and for a password the DC refuses);
// then the server's host key changes and its checks become errors naming
// both keys; `down` forgets the session and leaves the machines alone.
func TestExistingRoom(t *testing.T) {
	dc := sambadc.Start(t, sambadc.Options{Shares: []sambadc.Share{{
		Name: "Compta", Files: map[string]string{"lisezmoi.txt": "Bienvenue"},
		ReadUsers: []string{"bob"}, WriteUsers: []string{"alice"},
	}}})
	const rootPW, alicePW, bobPW = "Root-Passw0rd!", "Alice-Passw0rd!", "Bob-Passw0rd!"
	dc.CreateUser(t, sambadc.User{Name: "alice", Password: alicePW})
	dc.CreateUser(t, sambadc.User{Name: "bob", Password: bobPW})
	srv := sshd.Start(t, sshd.Options{Host: "127.0.0.2", Port: 2222, Password: rootPW})
	dns := dnsmasq.StartDNS(t, dnsmasq.DNSOptions{Host: "127.0.0.53", Lines: []string{"host-record=intranet.salle.lan,192.168.12.80"}})
	closed := testenv.FreePort(t, "127.0.0.2")
	t.Setenv("SALLE_ROOT_PW", rootPW)
	t.Setenv("SALLE_ALICE_PW", alicePW)
	t.Setenv("SALLE_BOB_PW", bobPW)

	dir, data := t.TempDir(), t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	withFault := "faults:\n  - {name: motd, title: Le motd est effacé, machine: srv, run: rm -f /etc/motd}\n"
	lab := write("salle.yaml", fmt.Sprintf(existingRoomLab, dc.Domain, withFault))
	write("suite.yaml", fmt.Sprintf(existingRoomSuite, closed))
	roster := write("roster.csv", "id;nom;prénom\nc01;Durand;Paul\nc02;Martin;Léa\n")
	inv := filepath.Join(dir, "inventory.yaml")
	ctx := context.Background()
	run := func(args ...string) (string, string, int) {
		t.Helper()
		return runTailab(t, ctx, append([]string{"--data-dir", data}, args...)...)
	}

	// The skeleton, filled in: c02's server is a machine that does not answer.
	out, stderr, code := run("inventory", "init", "--lab", lab, "--candidates", roster, "--out", inv)
	if code != ExitOK {
		t.Fatalf("inventory init: exit %d: %s%s", code, out, stderr)
	}
	skel, err := os.ReadFile(inv)
	if err != nil || !strings.Contains(string(skel), "  c02:   # MARTIN Léa\n") {
		t.Fatalf("skeleton: %v\n%s", err, skel)
	}
	if _, stderr, code := run("inventory", "init", "--lab", lab, "--candidates", roster, "--out", inv); code != ExitUsage || !strings.Contains(stderr, "exists") {
		t.Errorf("inventory init over a file: exit %d, %s", code, stderr)
	}
	write("inventory.yaml", fmt.Sprintf(`lab: salle-b12
machines:
  srv: {ports: {ssh: 2222}}
  dc: {address: %s}
  dns: {address: %s, ports: {dns: %d}}
candidates:
  c01: {srv: {address: 127.0.0.2}}
  c02: {srv: {address: 127.0.0.9}}
`, dc.IP, dns.Host, dns.Port))
	up := []string{"up", lab, "--provider", "static", "--inventory", inv, "--session", "b12", "--candidates", roster}

	// Without an inventory, a new session of existing machines is a usage error.
	if _, stderr, code := run("up", lab, "--provider", "static", "--session", "b12", "--candidates", roster, "--no-faults"); code != ExitUsage || !strings.Contains(stderr, "has no inventory") {
		t.Errorf("up without --inventory: exit %d, %s", code, stderr)
	}
	// The plan creates nothing (and needs no daemon).
	if out, stderr, code := run(append(up, "--dry-run", "--no-faults")...); code != ExitOK || !strings.Contains(out, "Plan: 0 to create, 6 to keep, 0 to replace, 0 to remove.") {
		t.Errorf("up --dry-run: exit %d\n%s%s", code, out, stderr)
	}
	// The lab draws a fault: refused on machines tailab did not create.
	if _, stderr, code := run(up...); code != ExitUsage || !strings.Contains(stderr, "--no-faults") {
		t.Fatalf("up with faults: exit %d, %s", code, stderr)
	}
	out, stderr, code = run(append(up, "--no-faults")...)
	if code != ExitOK {
		t.Fatalf("up: exit %d\n%s%s", code, out, stderr)
	}
	for _, want := range []string{"c01        srv      vm    ready", "ssh:2222 ok", "c02        srv      vm    not-ready  127.0.0.9", "ssh 127.0.0.9:2222: connection refused", "smb:445 ok", "dns:" + fmt.Sprint(dns.Port) + " ok"} {
		if !strings.Contains(out, want) {
			t.Errorf("up's status lacks %q:\n%s", want, out)
		}
	}
	if out, _, code := run("status", "--session", "b12", "-o", "json"); code != ExitOK || !strings.Contains(out, `"ssh": "ok"`) {
		t.Errorf("status: exit %d\n%s", code, out)
	}

	grade := func() map[string]checks.Result {
		t.Helper()
		out, stderr, _ := run("grade", "--session", "b12", "-o", "json")
		var rep checks.Report
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("grade: %v\n%s%s", err, out, stderr)
		}
		res := map[string]checks.Result{}
		for _, c := range rep.Candidates {
			for _, r := range c.Results {
				res[c.ID+"/"+r.CheckID] = r
				for _, pw := range []string{rootPW, alicePW, bobPW, "Not-The-Passw0rd"} {
					if strings.Contains(r.Evidence+r.Message, pw) {
						t.Errorf("%s/%s shows a password", c.ID, r.CheckID)
					}
				}
			}
		}
		return res
	}
	verdicts := func(res map[string]checks.Result, want map[string]checks.Status) {
		t.Helper()
		for id, st := range want {
			if r := res[id]; r.Status != st {
				t.Errorf("%s: %s (%s), want %s\n%s", id, r.Status, r.Message, st, r.Evidence)
			}
		}
	}
	res := grade()
	verdicts(res, map[string]checks.Status{
		"c01/ssh-2222": checks.StatusPass, "c01/srv-motd": checks.StatusFail, "c01/ssh-closed": checks.StatusError,
		"c01/compta-alice": checks.StatusPass, "c01/compta-bob-lit": checks.StatusPass, "c01/compta-bob-ecrit": checks.StatusPass,
		"c01/compta-intrus": checks.StatusError, "c01/dns-intranet": checks.StatusPass,
		"c02/ssh-2222": checks.StatusError, "c02/compta-bob-ecrit": checks.StatusPass,
	})
	t.Logf("closed port: %s; refused password: %s", res["c01/ssh-closed"].Message, res["c01/compta-intrus"].Message)
	if m := res["c01/ssh-closed"].Message; !strings.Contains(m, "connection refused") {
		t.Errorf("closed port: %s", m)
	}
	if e := res["c01/ssh-2222"].Evidence; !strings.Contains(e, srv.Fingerprint) {
		t.Errorf("ssh evidence lacks the pinned key %s:\n%s", srv.Fingerprint, e)
	}

	// The server is replaced (another host key on the same address and
	// port): its checks are errors naming both keys, never verdicts.
	srv.Stop()
	srv2 := sshd.Start(t, sshd.Options{Host: "127.0.0.2", Port: 2222, Password: rootPW})
	res = grade()
	for _, id := range []string{"c01/ssh-2222", "c01/srv-motd"} {
		r := res[id]
		if r.Status != checks.StatusError || !strings.Contains(r.Message, srv.Fingerprint) || !strings.Contains(r.Message, srv2.Fingerprint) {
			t.Errorf("%s after the key changed: %s %q, want an error naming %s and %s", id, r.Status, r.Message, srv.Fingerprint, srv2.Fingerprint)
		}
	}
	t.Logf("after the key changed: %s", res["c01/ssh-2222"].Message)
	verdicts(res, map[string]checks.Status{"c01/compta-alice": checks.StatusPass})
	// Re-running up keeps the first key: trust on first use is not renewed.
	if _, stderr, code := run(append(up, "--no-faults")...); code != ExitOK {
		t.Fatalf("up again: exit %d %s", code, stderr)
	}
	if r := grade()["c01/ssh-2222"]; r.Status != checks.StatusError {
		t.Errorf("after up again: %s, want error (the pin stays)", r.Status)
	}

	// down forgets the session, touches no machine.
	if _, stderr, code := run("down", "--session", "b12", "--yes"); code != ExitOK {
		t.Fatalf("down: exit %d %s", code, stderr)
	}
	if _, stderr, code := run("status", "--session", "b12"); code != ExitUsage {
		t.Errorf("status after down: exit %d %s", code, stderr)
	}
	testenv.WaitTCP(t, srv2.Addr(), 0)
	testenv.WaitTCP(t, dc.SMBAddr(), 0)
}
