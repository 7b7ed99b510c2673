package smb_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/checks/probe/smb"
)

// TestShareAsSecondUser grades, through the runner against the real Samba
// DC, what two identities of one machine may do on a share (`as:`): alice
// (the default) writes, bob only reads; an identity whose password the
// server refuses is an error, never a fail.
func TestShareAsSecondUser(t *testing.T) {
	_, tg := setup(t)
	tg.Candidate = "c1"
	tg.Identities = map[string]map[string]probe.Credentials{"smb": {
		"alice": tg.Credentials["alice"], "bob": tg.Credentials["bob"], "wrong": tg.Credentials["wrong"],
	}}
	reg := probe.NewRegistry(smb.New())
	suite, err := checks.LoadSuite("share.yaml", []byte(`
name: share
referential: tai-2018
checks:
  - {id: alice-writes, title: T, competence: C2.2, machine: dc1, probe: {type: smb, share: Compta, actions: [write]}, expect: {can_write: true}}
  - {id: bob-reads, title: T, competence: C2.2, machine: dc1, as: bob, probe: {type: smb, share: Compta, file: lisezmoi.txt, actions: [read]}, expect: {can_read: true}}
  - {id: bob-cannot-write, title: T, competence: C2.2, machine: dc1, as: bob, probe: {type: smb, share: Compta, actions: [write]}, expect: {can_write: false}}
  - {id: bob-writes, title: T, competence: C2.2, machine: dc1, as: bob, probe: {type: smb, share: Compta, actions: [write]}, expect: {can_write: true}}
  - {id: refused, title: T, competence: C2.2, machine: dc1, as: wrong, probe: {type: smb, share: Compta}, expect: {can_list: true}}
`), reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := suite.CheckIdentities(map[string]map[string][]string{"dc1": {"smb": {"alice", "bob", "wrong"}}}); err != nil {
		t.Fatal(err)
	}
	r := &checks.Runner{Registry: reg}
	rep, err := r.Run(context.Background(), checks.Session{ID: "s", Lab: "l"}, []*checks.Suite{suite},
		[]checks.Candidate{{ID: "c1", Machines: map[string]probe.Target{"dc1": tg}}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, res := range rep.Candidates[0].Results {
		got = append(got, res.CheckID+"="+string(res.Status))
		for _, pw := range append([]string{"Not-The-Passw0rd"}, values(passwords)...) {
			if strings.Contains(res.Evidence+res.Message, pw) {
				t.Errorf("%s shows a password", res.CheckID)
			}
		}
	}
	if msg := rep.Candidates[0].Results[4].Message; !strings.Contains(msg, `"dc1" (smb en tant que wrong)`) {
		t.Errorf("refused: %q does not name the identity", msg)
	}
	want := "alice-writes=pass bob-reads=pass bob-cannot-write=pass bob-writes=fail refused=error"
	if strings.Join(got, " ") != want {
		t.Errorf("statuses = %s, want %s", strings.Join(got, " "), want)
		for _, res := range rep.Candidates[0].Results {
			t.Logf("%s: %s %s", res.CheckID, res.Message, res.Evidence)
		}
	}
}
