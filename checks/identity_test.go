package checks

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/internal/secret"
	"github.com/tailab/tailab/internal/yamlx"
)

// whoProbe observes which user the target's credentials for its own type name.
// The runner runs batches at once: batches is guarded.
type whoProbe struct {
	mu      sync.Mutex
	batches [][]string
}

type whoParams struct{}

func (*whoParams) Validate(*yamlx.Decoder, yamlx.Pos, string) {}

func (*whoProbe) Type() string            { return "smb" }
func (*whoProbe) NewParams() probe.Params { return &whoParams{} }
func (w *whoProbe) Run(_ context.Context, t probe.Target, reqs []probe.Request) ([]probe.Observation, error) {
	var ids []string
	out := make([]probe.Observation, len(reqs))
	for i, r := range reqs {
		ids = append(ids, r.ID)
		out[i] = probe.Observation{ID: r.ID, Values: map[string]any{"user": t.Creds("smb").User}}
	}
	w.mu.Lock()
	w.batches = append(w.batches, ids)
	w.mu.Unlock()
	return out, nil
}

const identitySuite = `
name: ids
referential: tai-2018
checks:
  - {id: default, title: T, competence: C2.2, machine: dc, probe: {type: smb}, expect: {user: admin}}
  - {id: second, title: T, competence: C2.2, machine: dc, as: pdurand, probe: {type: smb}, expect: {user: pdurand}}
  - {id: again, title: T, competence: C2.2, machine: dc, as: pdurand, probe: {type: smb}, expect: {user: pdurand}}
  - {id: ghost, title: T, competence: C2.2, machine: dc, as: nobody, probe: {type: smb}, expect: {user: nobody}}
`

// TestCheckAs: a check's `as` picks one of its machine's identities (one
// batch per identity), an identity the machine lacks is the check's error,
// and CheckIdentities reports it at its line and column.
func TestCheckAs(t *testing.T) {
	w := &whoProbe{}
	reg := probe.NewRegistry(w)
	s := suiteFrom(t, reg, identitySuite)
	err := s.CheckIdentities(map[string]map[string][]string{"dc": {"smb": {"admin", "pdurand"}}})
	if err == nil || err.Error() != `inline.yaml:8:62: checks[3].as: machine "dc" has no smb identity named "nobody" (valid: admin, pdurand)` {
		t.Errorf("CheckIdentities = %v", err)
	}
	c := Candidate{ID: "c1", Machines: map[string]probe.Target{"dc": {
		Candidate: "c1", Machine: "dc", Address: "10.0.0.1", Masker: &secret.Masker{},
		Credentials: map[string]probe.Credentials{"smb": {User: "admin"}},
		Identities: map[string]map[string]probe.Credentials{"smb": {
			"admin": {User: "admin"}, "pdurand": {User: "pdurand", Password: secret.New("pw")}}},
	}}}
	rep, _ := grade(t, reg, []*Suite{s}, c)
	if got := statuses(rep.Candidates[0]); got != "default=pass second=pass again=pass ghost=error" {
		t.Errorf("statuses = %s", got)
	}
	if msg := result(t, rep.Candidates[0], "ghost").Message; !strings.Contains(msg, `pas d'identité smb nommée "nobody"`) {
		t.Errorf("ghost message = %q", msg)
	}
	if len(w.batches) != 2 {
		t.Errorf("batches = %v, want one per identity", w.batches)
	}
}

func TestCheckAsSyntax(t *testing.T) {
	reg := probe.NewRegistry(&whoProbe{})
	_, err := LoadSuite("bad.yaml", []byte("name: x\nreferential: tai-2018\nchecks:\n  - {id: a, title: T, competence: C2.2, machine: dc, as: 'p durand', probe: {type: smb}, expect: {user: x}}\n"), reg, nil)
	if err == nil || !strings.Contains(err.Error(), `bad.yaml:4:58: checks[0].as: "p durand" is not a valid identity name`) {
		t.Errorf("err = %v", err)
	}
}
