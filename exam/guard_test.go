package exam

import (
	"fmt"
	"testing"

	"github.com/tailab/tailab/provision"
)

// TestReplacedMachines: the machines whose faults up must read before it
// applies a plan are those it replaces (a drifted VM or container), per
// candidate; a replaced workspace (terraform: a candidate's whole lab) means
// all of them; what is created, kept or removed, and networks, are not.
func TestReplacedMachines(t *testing.T) {
	act := func(op provision.Op, typ, cand, machine string) provision.Action {
		return provision.Action{Op: op, Resource: provision.Resource{Type: typ, Candidate: cand, Machine: machine, Name: cand + "." + machine}}
	}
	for _, tc := range []struct {
		name    string
		actions []provision.Action
		want    string
	}{
		{"nothing drifted", []provision.Action{act(provision.OpKeep, "domain", "c01", "srv"), act(provision.OpCreate, "domain", "c02", "srv")}, "[]"},
		{"a VM and a container", []provision.Action{
			act(provision.OpReplace, "domain", "c02", "ws"), act(provision.OpKeep, "domain", "c01", "srv"),
			act(provision.OpReplace, "domain", "c01", "pc1"), act(provision.OpReplace, "domain", "c02", "srv"),
			act(provision.OpReplace, "domain", "c02", "ws"),
		}, "[{c02 [ws srv]} {c01 [pc1]}]"},
		{"a network is no machine", []provision.Action{act(provision.OpReplace, "network", "c01", "")}, "[]"},
		{"the management workspace has no candidate", []provision.Action{act(provision.OpReplace, "workspace", "", "")}, "[]"},
		{"a candidate's workspace: all its machines", []provision.Action{
			act(provision.OpReplace, "domain", "c01", "srv"), act(provision.OpReplace, "workspace", "c01", ""), act(provision.OpReplace, "domain", "c01", "pc1"),
		}, "[{c01 []}]"},
		{"removed is not replaced", []provision.Action{act(provision.OpRemove, "domain", "c01", "old")}, "[]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ReplacedMachines(&provision.Plan{Actions: tc.actions})
			if fmt.Sprint(got) != tc.want {
				t.Errorf("got %v, want %s", got, tc.want)
			}
			for _, r := range got {
				if tc.name == "a candidate's workspace: all its machines" && r.Machines != nil {
					t.Errorf("%s: machines %#v, want nil (all)", r.Candidate, r.Machines)
				}
			}
		})
	}
}
