package exam

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	xssh "golang.org/x/crypto/ssh"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/internal/secret"
	"github.com/tailab/tailab/internal/testenv"
	"github.com/tailab/tailab/internal/testenv/sshd"
)

// vantageSuite pings srv from pc1 three ways: the check's `from`, the probe's
// `from`, and from the grader (no from) as a control.
const vantageSuite = `
name: vantage
checks:
  - id: pc1-joint-srv
    title: Le poste client joint le serveur
    competence: C3.4
    machine: srv
    from: pc1
    probe: {type: ping, count: 1}
    expect: {reachable: true, method: remote}
  - id: pc1-joint-srv-param
    title: Le poste client joint le serveur (from du probe)
    competence: C3.4
    machine: srv
    probe: {type: ping, from: pc1, count: 1}
    expect: {reachable: true, method: remote}
  - id: pc1-joint-hote
    title: Le poste client joint une adresse donnée
    competence: C3.4
    machine: srv
    from: pc1
    probe: {type: ping, host: 127.0.0.6, count: 1}
    expect: {reachable: true}
  - id: pc2-absent
    title: Vantage absent de l'inventaire
    competence: C3.4
    machine: srv
    probe: {type: ping, from: pc2, count: 1}
    expect: {reachable: true}
`

// TestPingFromVantageOverSSH grades ping checks with from: through the grade
// registry: the ping runs on the vantage machine (a real sshd standing for pc1),
// against srv's lab address, never its management address.
func TestPingFromVantageOverSSH(t *testing.T) {
	if _, err := exec.LookPath("ping"); err != nil {
		if _, err := exec.LookPath("busybox"); err != nil {
			testenv.Unavailable(t, "neither ping nor busybox for the vantage machine")
		}
	}
	_, keyPEM, pub := sshd.NewClientKey(t)
	srv := sshd.Start(t, sshd.Options{Host: "127.0.0.9", AuthorizedKeys: []xssh.PublicKey{pub}})

	suite, err := checks.LoadSuite("vantage.yaml", []byte(vantageSuite), Probes(), nil)
	if err != nil {
		t.Fatal(err)
	}
	suites := []*checks.Suite{suite}
	if err := suite.CheckProbeVantages([]string{"srv", "pc1"}); err == nil || !strings.Contains(err.Error(), `vantage.yaml:28:31: checks[3].probe.from: unknown machine "pc2"`) {
		t.Fatalf("CheckProbeVantages: %v", err)
	}
	masker := &secret.Masker{}
	cand := checks.Candidate{ID: "c01", Machines: map[string]probe.Target{
		// srv's management address is unroutable here: pinging it would fail.
		"srv": {Candidate: "c01", Machine: "srv", Address: "192.0.2.10", Masker: masker},
		"pc1": {Candidate: "c01", Machine: "pc1", Address: srv.Host, Ports: map[string]int{"ssh": srv.Port}, Masker: masker,
			Credentials: map[string]probe.Credentials{"ssh": {User: "root", PrivateKey: secret.New(keyPEM)}}},
	}}
	labNets := map[string]map[string][]checks.NetAddress{"c01": {
		"srv": {{Network: "lan", Address: "127.0.0.5"}},
		"pc1": {{Network: "lan", Address: "127.0.0.9"}},
	}}
	v, err := checks.NewVantages(suites, []checks.Candidate{cand}, labNets)
	if err != nil {
		t.Fatal(err)
	}
	before := strings.Count(srv.Log(), "Accepted publickey")
	runner := &checks.Runner{Registry: GradeProbes(v, nil), DefaultTimeout: 10 * time.Second}
	rep, err := runner.Run(context.Background(), checks.Session{ID: "s1", Lab: "vantage"}, suites, []checks.Candidate{cand})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		id       string
		status   checks.Status
		evidence string // in the evidence or the message
	}{
		{"pc1-joint-srv", checks.StatusPass, "ping 127.0.0.5 from pc1 (127.0.0.9)"},
		{"pc1-joint-srv-param", checks.StatusPass, "ping 127.0.0.5 from pc1 (127.0.0.9)"},
		{"pc1-joint-hote", checks.StatusPass, "ping 127.0.0.6 from pc1 (127.0.0.9)"},
		{"pc2-absent", checks.StatusError, `machine "pc2" not in candidate c01's inventory`},
	}
	for _, tc := range tests {
		t.Run(tc.id, func(t *testing.T) {
			var r *checks.Result
			for i := range rep.Candidates[0].Results {
				if rep.Candidates[0].Results[i].CheckID == tc.id {
					r = &rep.Candidates[0].Results[i]
				}
			}
			if r == nil {
				t.Fatalf("no result")
			}
			if r.Status != tc.status || !strings.Contains(r.Evidence+r.Message, tc.evidence) {
				t.Errorf("status %s, want %s; message %q; evidence:\n%s\nwant %q", r.Status, tc.status, r.Message, r.Evidence, tc.evidence)
			}
		})
	}
	// Grading the unchanged lab again gives the same verdicts: --watch prints nothing.
	again, err := runner.Run(context.Background(), checks.Session{ID: "s1", Lab: "vantage"}, suites, []checks.Candidate{cand})
	if err != nil {
		t.Fatal(err)
	}
	if ch := Diff(rep, again); len(ch) != 0 {
		t.Errorf("second grading of an unchanged lab: %+v", ch)
	}
	before += 2
	// One login per runner group: the check's from (vantage pc1) and the probe's
	// from (target srv) are two groups; both ran on pc1.
	if n := strings.Count(srv.Log(), "Accepted publickey") - before; n != 2 {
		t.Errorf("%d SSH logins on the vantage, want 2", n)
	}
}
