package exam

import (
	"context"
	"fmt"
	"testing"
	"time"

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

// TestStartedMachines: the machines a plan starts (kept, found stopped) are
// those whose volatile faults up puts back; a running kept machine, a created
// or replaced one, a network started again are not.
func TestStartedMachines(t *testing.T) {
	act := func(op provision.Op, reason, typ, cand, machine string) provision.Action {
		return provision.Action{Op: op, Reason: reason, Resource: provision.Resource{Type: typ, Candidate: cand, Machine: machine}}
	}
	stopped := provision.ReasonStopped
	got := StartedMachines(&provision.Plan{Actions: []provision.Action{
		act(provision.OpKeep, "", "domain", "c01", "pc1"),
		act(provision.OpKeep, stopped, "domain", "c02", "srv"),
		act(provision.OpKeep, "defined but inactive: will be started", "network", "c01", ""),
		act(provision.OpReplace, "the lab changed since it was created", "domain", "c01", "srv"),
		act(provision.OpCreate, "", "domain", "c03", "srv"),
		act(provision.OpKeep, stopped, "domain", "c02", "pc2"),
		act(provision.OpKeep, stopped, "domain", "c01", "dc"),
	}})
	if want := "[{c02 [srv pc2]} {c01 [dc]}]"; fmt.Sprint(got) != want {
		t.Errorf("got %v, want %s", got, want)
	}
}

// TestGuardKeepsUnseenFaults: after an intervention that leaves a machine not
// answering yet (reset --no-wait), the faults present or unreadable before it
// cannot be checked: they stay pending, for the machines it touched, so the
// next up reads and puts back what was lost; a second intervention adds to
// them rather than replacing them.
func TestGuardKeepsUnseenFaults(t *testing.T) {
	st, sess, lab := ccp3Session(t)
	c := sess.Candidates[0]
	drawn := lab.FaultsFor(sess.Name, c)
	rec := provision.FaultRecord{At: time.Now()}
	byMachine := map[string][]string{}
	for _, f := range drawn {
		rec.Faults = append(rec.Faults, f.Name)
		byMachine[f.Machine] = append(byMachine[f.Machine], f.Name)
	}
	if err := st.RecordFaults(sess.Name, c.ID, rec); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"srv", "box", "pc1", "pc2"} { // nothing answers on port 9
		if err := st.PutMachine(provision.MachineState{Session: sess.Name, Candidate: c.ID, Machine: m, MgmtAddress: "127.0.0.1", Ports: map[string]int{"ssh": 9}, State: provision.StateRunning}); err != nil {
			t.Fatal(err)
		}
	}
	// The reads retry until their context ends (a machine booting): 2 s here.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	ran := 0
	iv, err := Guard(ctx, st, sess, c.ID, "srv", "reset", t.Logf, func() error { ran++; return nil })
	if err != nil || iv == nil || ran != 1 {
		t.Fatalf("guard: %v %v (ran %d)", iv, err, ran)
	}
	for _, w := range iv.Faults {
		if w.Before != Unknown || w.After != Unknown || w.Reapplied {
			t.Errorf("%s: %+v, want unknown before and after, nothing re-applied", w.Fault, w)
		}
	}
	got, _, err := st.Faults(sess.Name, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got.Pending) != fmt.Sprint(byMachine["srv"]) || got.PendingBy != "reset" || fmt.Sprint(got.PendingMachines) != "[srv]" {
		t.Errorf("after reset of srv: pending %v by %q on %v, want %v by reset on [srv]", got.Pending, got.PendingBy, got.PendingMachines, byMachine["srv"])
	}
	ctx, cancel = context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := Guard(ctx, st, sess, c.ID, "pc2", "snapshot revert", t.Logf, func() error { return nil }); err != nil {
		t.Fatal(err)
	}
	got, _, _ = st.Faults(sess.Name, c.ID)
	want := append(append([]string{}, byMachine["srv"]...), byMachine["pc2"]...)
	if fmt.Sprint(got.Pending) != fmt.Sprint(want) || got.PendingBy != "reset, snapshot revert" || fmt.Sprint(got.PendingMachines) != "[srv pc2]" {
		t.Errorf("after revert of pc2: pending %v by %q on %v, want %v", got.Pending, got.PendingBy, got.PendingMachines, want)
	}
	log, err := st.AuditLog(sess.Name)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 2 || log[0].Action != "faults-kept" || log[0].Machine != "srv" {
		t.Errorf("audit log: %+v", log)
	}
}
