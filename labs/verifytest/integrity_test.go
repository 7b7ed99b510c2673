package verifytest_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/exam"
	"github.com/tailab/tailab/internal/testenv"
	"github.com/tailab/tailab/internal/testenv/libvirtd"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
)

// TestFaultsSurviveInterventions is issue 12's scenarios on ccp3-support-local:
// a blank candidate (who drew disque-plein and dnsmasq-arrete) passes exactly
// the same checks before and after snapshot create (the containers are frozen,
// not restarted: no fault is lost), snapshot revert (they restart: the tmpfs
// empties, the faults are put back), reset, down+up of the candidate and up
// replacing a drifted machine; a candidate who repaired one fault keeps
// exactly their points after the same actions, and their repaired fault stays
// repaired. Last, the blank candidate stops srv from inside (kill 1): up finds
// it stopped, starts it and puts back its volatile faults.
func TestFaultsSurviveInterventions(t *testing.T) {
	if !libvirtd.InDaemonNetns() {
		testenv.Unavailable(t, "needs root and libvirtd (/usr/sbin/libvirtd) for a private daemon")
		return
	}
	for _, b := range []string{"dnsmasq", "nft", "busybox", "setpriv", "useradd"} {
		testenv.RequireBinary(t, b)
	}
	ctx := context.Background()
	lab, labYAML, err := exam.OpenLab("ccp3-support-local")
	if err != nil {
		t.Fatal(err)
	}
	const session = "integrity"
	// The blank candidate draws the two lost faults; the other one a
	// service fault on srv too, which they repair.
	blank := pick(t, lab, session, "", "disque-plein", "dnsmasq-arrete")
	repairer := pick(t, lab, session, blank.ID, "intranet-arrete")
	eng := privateEngine(t)
	st := eng.State
	sess, err := eng.NewSession(session, lab, labYAML, []labs.Candidate{blank, repairer}, "libvirt")
	if err != nil {
		t.Fatal(err)
	}
	up := func(only ...string) {
		t.Helper()
		plan, err := eng.Plan(ctx, sess, only)
		if err != nil {
			t.Fatal(err)
		}
		if err := eng.Up(ctx, plan, provision.ApplyOptions{Parallel: 4, Force: true}, quiet{}); err != nil {
			t.Fatal(err)
		}
		if err := exam.ApplyDrawnFaults(ctx, st, sess, only, t.Logf); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		if err := eng.Down(context.Background(), sess, nil, quiet{}); err != nil {
			t.Errorf("down: %v", err)
		}
	})
	up()

	suites, err := exam.LoadSuites(exam.BuiltinChecks(lab), exam.Probes())
	if err != nil {
		t.Fatal(err)
	}
	grade := func() map[string]string {
		t.Helper()
		cands, labNets, err := exam.Bind(st, sess, lab, nil)
		if err != nil {
			t.Fatal(err)
		}
		v, err := checks.NewVantages(suites, cands, labNets)
		if err != nil {
			t.Fatal(err)
		}
		r := &checks.Runner{Registry: exam.GradeProbes(v, nil)}
		rep, err := r.Run(ctx, checks.Session{ID: sess.Name, Lab: lab.Name, StartedAt: sess.StartedAt}, suites, cands)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, c := range rep.Candidates {
			var passed []string
			for _, res := range c.Results {
				if res.Status == checks.StatusPass {
					passed = append(passed, res.CheckID)
				}
			}
			sort.Strings(passed)
			out[c.ID] = fmt.Sprintf("%g pts: %s", c.Points, strings.Join(passed, " "))
		}
		return out
	}

	// The repairer restarts the intranet, as the solution does.
	ins, err := exam.Instances(st, sess, lab, []string{repairer.ID}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ins[0].Scenario.StepsFor(ins[0].Scenario.Drawn) {
		if s.Fault == "intranet-arrete" {
			if _, err := ins[0].Steps.ApplyStep(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := grade()
	t.Logf("before: %v", want)
	if want[blank.ID] == want[repairer.ID] {
		t.Fatalf("the repair earned nothing: %v", want)
	}

	guarded := func(c labs.Candidate, action string, do func() error) *exam.Intervention {
		t.Helper()
		iv, err := exam.Guard(ctx, st, sess, c.ID, "", action, t.Logf, do)
		if err != nil {
			t.Fatalf("%s %s: %v", action, c.ID, err)
		}
		if iv == nil {
			t.Fatalf("%s %s: no faults watched", action, c.ID)
		}
		for _, f := range iv.Faults {
			if f.Before == exam.Present && f.After != exam.Present {
				t.Errorf("%s %s: fault %s present before, %s after", action, c.ID, f.Fault, f.After)
			}
			if f.Before == exam.Absent && f.After != exam.Absent {
				t.Errorf("%s %s: fault %s repaired before, %s after", action, c.ID, f.Fault, f.After)
			}
		}
		return iv
	}
	for _, c := range []labs.Candidate{blank, repairer} {
		iv := guarded(c, "snapshot create", func() error {
			_, err := eng.CreateSnapshot(ctx, sess, c.ID, "", "s1")
			return err
		})
		// The containers were frozen, not restarted: nothing was lost, so
		// nothing had to be put back (the tmpfs of disque-plein is still full).
		for _, f := range iv.Faults {
			if f.Reapplied {
				t.Errorf("snapshot create %s: fault %s had to be re-applied: the container restarted", c.ID, f.Fault)
			}
		}
	}
	if got := grade(); !equal(got, want) {
		t.Errorf("after snapshot create:\n got %v\nwant %v", got, want)
	}
	// A revert restarts the containers: the faults held in RAM (a killed
	// service, the full tmpfs) are lost and put back.
	reapplied := 0
	for _, c := range []labs.Candidate{blank, repairer} {
		iv := guarded(c, "snapshot revert", func() error {
			return eng.RevertSnapshot(ctx, sess, c.ID, "", "s1", provision.ApplyOptions{}, quiet{})
		})
		for _, f := range iv.Faults {
			if f.Reapplied {
				reapplied++
			}
		}
	}
	if reapplied == 0 {
		t.Errorf("snapshot revert restarted the containers but re-applied no fault")
	}
	if got := grade(); !equal(got, want) {
		t.Errorf("after snapshot revert:\n got %v\nwant %v", got, want)
	}
	for _, c := range []labs.Candidate{blank, repairer} {
		guarded(c, "reset", func() error { return eng.Reset(ctx, sess, c.ID, "", provision.ApplyOptions{}, quiet{}) })
	}
	if got := grade(); !equal(got, want) {
		t.Errorf("after reset:\n got %v\nwant %v", got, want)
	}
	if err := exam.Down(ctx, eng, sess, []string{blank.ID, repairer.ID}, quiet{}); err != nil {
		t.Fatal(err)
	}
	up(blank.ID, repairer.ID)
	if got := grade(); !equal(got, want) {
		t.Errorf("after down+up:\n got %v\nwant %v", got, want)
	}

	// Drift: srv's spec changes (its memory), so up replaces srv of both
	// candidates and keeps the others; the faults srv held are read before
	// and put back after, those of the kept machines are not touched.
	drifted := strings.Replace(sess.LabYAML, "memory: 96MiB", "memory: 100MiB", 1)
	if drifted == sess.LabYAML {
		t.Fatal("srv's memory line not found in the lab")
	}
	sess.LabYAML = drifted
	plan, err := eng.Plan(ctx, sess, nil)
	if err != nil {
		t.Fatal(err)
	}
	repl := exam.ReplacedMachines(plan)
	if fmt.Sprint(repl) != fmt.Sprintf("[{%s [srv]} {%s [srv]}]", blank.ID, repairer.ID) && fmt.Sprint(repl) != fmt.Sprintf("[{%s [srv]} {%s [srv]}]", repairer.ID, blank.ID) {
		t.Fatalf("the drifted plan replaces %v, want srv of both candidates (%s)", repl, plan.Summary())
	}
	if err := exam.Up(ctx, eng, sess, plan, exam.UpOptions{Force: true, Apply: provision.ApplyOptions{Parallel: 4}, Machines: quiet{}, Log: t.Logf}); err != nil {
		t.Fatal(err)
	}
	if got := grade(); !equal(got, want) {
		t.Errorf("after the drift replacement of srv:\n got %v\nwant %v", got, want)
	}

	// The blank candidate stops srv from inside (`kill 1` ends a container's
	// init; no admin action): found stopped, up starts it and puts back the
	// volatile faults the restart lost (the full tmpfs, the stopped dnsmasq).
	bins, err := exam.Instances(st, sess, lab, []string{blank.ID}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kill := labs.Step{Action: labs.Action{Name: "arret", Machine: "srv", Run: "nohup sh -c 'sleep 1; kill 1' >/dev/null 2>&1 &"}}
	if _, err := bins[0].Steps.ApplyStep(ctx, kill); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(time.Second) {
		if plan, err = eng.Plan(ctx, sess, nil); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(exam.StartedMachines(plan)) == fmt.Sprintf("[{%s [srv]}]", blank.ID) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("srv of %s not found stopped after kill 1: %s", blank.ID, plan.Summary())
		}
	}
	if err := exam.Up(ctx, eng, sess, plan, exam.UpOptions{Force: true, Apply: provision.ApplyOptions{Parallel: 4}, Machines: quiet{}, Log: t.Logf}); err != nil {
		t.Fatal(err)
	}
	if got := grade(); !equal(got, want) {
		t.Errorf("after srv stopped by the candidate and started by up:\n got %v\nwant %v", got, want)
	}
	log, err := st.AuditLog(session)
	if err != nil {
		t.Fatal(err)
	}
	n, drift, restart := 0, 0, 0
	for _, e := range log {
		if e.Action == "faults-kept" && strings.HasPrefix(e.Detail, "restart srv: ") {
			restart++
			if e.Candidate != blank.ID || !strings.Contains(e.Detail, "disque-plein: re-applied, present") || !strings.Contains(e.Detail, "dnsmasq-arrete: re-applied, present") {
				t.Errorf("restart of srv: %+v, want %s's disque-plein and dnsmasq-arrete re-applied", e, blank.ID)
			}
		}
		if e.Action == "faults-kept" && strings.Contains(e.Detail, "re-applied, present") {
			n++
		}
		if e.Action == "faults-kept" && strings.HasPrefix(e.Detail, "replace srv: ") {
			drift++
			if e.Machine != "srv" || strings.Contains(e.Detail, "passerelle") || strings.Contains(e.Detail, "compte") {
				t.Errorf("drift replacement of srv: faults of other machines watched: %+v", e)
			}
		}
	}
	if n == 0 {
		t.Errorf("no re-applied fault in the audit log: %+v", log)
	}
	if restart != 1 {
		t.Errorf("%d audit entries for the restart of srv, want 1: %+v", restart, log)
	}
	if drift != 2 {
		t.Errorf("%d audit entries for the drift replacement of srv, want 2 (one per candidate): %+v", drift, log)
	}
}

// pick finds a candidate of the session (other than not) who draws every
// fault named; the draw of distinct groups follows the seat (here the index).
func pick(t *testing.T, lab *labs.Lab, session, not string, faults ...string) labs.Candidate {
	t.Helper()
	for i := 1; i < 200; i++ {
		c := labs.Candidate{ID: fmt.Sprintf("c%02d", i), Index: i}
		if c.ID == not {
			continue
		}
		drawn := exam.FaultNames(lab.FaultsFor(session, c))
		all := true
		for _, f := range faults {
			all = all && strings.Contains(", "+drawn+",", " "+f+",")
		}
		if all {
			return c
		}
	}
	t.Fatalf("no candidate draws %v", faults)
	return labs.Candidate{}
}

func equal(a, b map[string]string) bool {
	return fmt.Sprint(a) == fmt.Sprint(b)
}

// quiet observes nothing.
type quiet struct{}

func (quiet) Event(provision.Event)          {}
func (quiet) Machine(provision.MachineState) {}
