package exam

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
)

// snapshotsOnly answers ListSnapshots from a table: the provider's side of
// the completion, without machines.
type snapshotsOnly struct {
	provision.Provider
	provision.Snapshotter
	snaps map[string][]string // machine → names
}

func (p snapshotsOnly) Name() string { return "snapshots-only" }
func (p snapshotsOnly) Close() error { return nil }
func (p snapshotsOnly) ListSnapshots(_ context.Context, _ *provision.Session, in *labs.Instance, machine string) ([]provision.Snapshot, error) {
	var out []provision.Snapshot
	for _, n := range p.snaps[machine] {
		out = append(out, provision.Snapshot{Candidate: in.Candidate.ID, Machine: machine, Name: n})
	}
	return out, nil
}

// TestCompletions: the session's candidates, its lab's machines, and a
// candidate's snapshot names (each once, of one machine or of all).
func TestCompletions(t *testing.T) {
	dir := t.TempDir()
	st, err := provision.OpenState(dir)
	if err != nil {
		t.Fatal(err)
	}
	src, err := labs.BuiltinSource("tpe-local")
	if err != nil {
		t.Fatal(err)
	}
	sess := &provision.Session{Name: "juin", Lab: "tpe-local", LabSource: "catalog:tpe-local", LabYAML: string(src), Provider: "libvirt",
		Candidates: []labs.Candidate{{ID: "c01", LastName: "Martin", FirstName: "Léa", Index: 1}}}
	if err := st.SaveSession(sess); err != nil {
		t.Fatal(err)
	}
	if got := CompleteCandidates(dir, "juin"); !slices.Equal(got, []string{"c01\tMARTIN Léa"}) {
		t.Errorf("candidates %q", got)
	}
	lab, _ := sess.LoadLab()
	var want []string
	for _, m := range lab.Machines {
		want = append(want, m.Name+"\t"+m.Role)
	}
	if got := CompleteMachines(dir, "juin"); len(want) < 2 || !slices.Equal(got, want) {
		t.Errorf("machines %q, want %q", got, want)
	}
	m0, m1 := lab.Machines[0].Name, lab.Machines[1].Name
	p := snapshotsOnly{snaps: map[string][]string{m0: {"avant-panne", "debut"}, m1: {"avant-panne"}}}
	engine := func(provider string) (*provision.Engine, error) {
		if provider != "libvirt" {
			return nil, errors.New("provider " + provider)
		}
		return &provision.Engine{State: st, Provider: p}, nil
	}
	ctx := context.Background()
	if got := CompleteSnapshots(ctx, dir, "juin", []string{"c01"}, "", engine); !slices.Equal(got, []string{"avant-panne", "debut"}) {
		t.Errorf("snapshots of c01: %q", got)
	}
	if got := CompleteSnapshots(ctx, dir, "juin", []string{"c01"}, m1, engine); !slices.Equal(got, []string{"avant-panne"}) {
		t.Errorf("snapshots of c01/%s: %q", m1, got)
	}
	for _, tc := range [][2]string{{"juin", ""}, {"juin", "c99"}, {"nope", "c01"}} {
		if got := CompleteSnapshots(ctx, dir, tc[0], []string{tc[1]}, "", engine); got != nil {
			t.Errorf("snapshots of %v: %q, want nothing", tc, got)
		}
	}
	if got := CompleteMachines(dir, "nope"); got != nil {
		t.Errorf("machines of no session: %q", got)
	}
}
