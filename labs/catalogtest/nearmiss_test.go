package catalogtest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/checks/probe/ssh"
)

// cannedSSH answers every ssh check with one stdout and exit code: what the
// machine would print in a given state.
type cannedSSH struct {
	stdout string
	exit   int
}

func (cannedSSH) Type() string            { return "ssh" }
func (cannedSSH) NewParams() probe.Params { return ssh.New().NewParams() }
func (c cannedSSH) Run(_ context.Context, _ probe.Target, reqs []probe.Request) ([]probe.Observation, error) {
	obs := make([]probe.Observation, len(reqs))
	for i, r := range reqs {
		obs[i] = probe.Observation{ID: r.ID, Values: map[string]any{"stdout": c.stdout, "stderr": "", "exit_code": c.exit}, Evidence: c.stdout}
	}
	return obs, nil
}

// gradeAlone grades one ssh check of a built-in lab on a canned answer,
// without its dependencies (other checks' business).
func gradeAlone(t *testing.T, f *labFixture, suiteName, id string, answer cannedSSH) checks.Result {
	t.Helper()
	var suite *checks.Suite
	var check *checks.Check
	for _, s := range f.suites {
		for _, c := range s.Checks {
			if s.Name == suiteName && c.ID == id {
				cc := *c
				cc.DependsOn, cc.When = nil, nil
				ss := *s
				ss.Checks = []*checks.Check{&cc}
				suite, check = &ss, &cc
			}
		}
	}
	if check == nil {
		t.Fatalf("%s has no check %s", suiteName, id)
	}
	runner := &checks.Runner{Registry: probe.NewRegistry(answer)}
	tg := probe.Target{Session: sessionID, Candidate: testCandidate.ID, Machine: check.Machine, Address: "127.0.0.1"}
	machines := map[string]probe.Target{check.Machine: tg}
	if check.From != "" {
		machines[check.From] = tg
	}
	rep, err := runner.Run(context.Background(), checks.Session{ID: sessionID, Lab: f.lab.Name, StartedAt: startedAt}, []*checks.Suite{suite},
		[]checks.Candidate{{ID: testCandidate.ID, Params: f.inst.Params, Machines: machines}})
	if err != nil {
		t.Fatal(err)
	}
	return rep.Candidates[0].Results[0]
}

// TestSharePermissionNearMisses: ccp2-ad's ad-partage-restreint (the P of
// AGDLP) credits a share refused to an account outside the group and granted
// to the domain-local group (valid users, as testparm prints it), never the
// near misses that let the user write just as well: the right granted to the
// user, to the global group, or to either beside the domain-local group.
func TestSharePermissionNearMisses(t *testing.T) {
	f := loadLab(t, "ccp2-infra-local")
	p := f.inst.Params
	gl, gg, user := fmt.Sprint(p["gl"]), fmt.Sprint(p["gg"]), fmt.Sprint(p["user"])
	denied := "tree connect failed: NT_STATUS_ACCESS_DENIED\n"
	for _, tc := range []struct {
		name, stdout string
		want         checks.Status
	}{
		{"the domain-local group (the solution)", denied + `valid users: @LAB\` + gl, checks.StatusPass},
		{"the group named without its domain", denied + "valid users: @" + gl, checks.StatusPass},
		{"the group in another case", denied + `valid users: @lab\` + strings.ToLower(gl), checks.StatusPass},
		{"the user directly", denied + `valid users: LAB\` + user, checks.StatusFail},
		{"the global group directly", denied + `valid users: @LAB\` + gg, checks.StatusFail},
		{"the user beside the group", denied + `valid users: @LAB\` + gl + ` LAB\` + user, checks.StatusFail},
		{"the global group beside", denied + `valid users: @LAB\` + gg + ` @LAB\` + gl, checks.StatusFail},
		{"no restriction", "  .  D  0  Mon Jun  1 08:00:00 2026\nvalid users: ", checks.StatusFail},
		{"restricted but to no one named", denied + "valid users: ", checks.StatusFail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := gradeAlone(t, f, "ccp2-ad", "ad-partage-restreint", cannedSSH{stdout: tc.stdout}); got.Status != tc.want {
				t.Errorf("stdout %q: %s, want %s (%s)", tc.stdout, got.Status, tc.want, got.Message)
			}
		})
	}
}
