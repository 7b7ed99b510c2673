package exam

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tailab/tailab/internal/audit"
	"github.com/tailab/tailab/internal/errclass"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
)

// Presence is what tailab saw of one drawn fault.
type Presence string

const (
	Present Presence = "present"
	Absent  Presence = "absent"  // repaired
	Unknown Presence = "unknown" // the machine could not be asked
)

// FaultWatch is one drawn fault around an intervention: seen before, whether
// it was re-applied, seen after.
type FaultWatch struct {
	Fault     string   `json:"fault"`
	Before    Presence `json:"before"`
	Reapplied bool     `json:"reapplied,omitempty"`
	After     Presence `json:"after"`
}

// Intervention is what an admin action did to a candidate's drawn faults.
type Intervention struct {
	Action    string       `json:"action"`
	Candidate string       `json:"candidate"`
	Machine   string       `json:"machine,omitempty"`
	Faults    []FaultWatch `json:"faults"`
}

// Facts are the audit log's entry: the action it followed and each fault's
// fate (its English line: "reset: dnsmasq-arrete: re-applied, present").
func (iv *Intervention) Facts() *audit.Facts {
	f := &audit.Facts{Faults: make([]audit.Fault, len(iv.Faults))}
	f.Following, f.Machines = audit.Following(iv.Action)
	for i, w := range iv.Faults {
		f.Faults[i] = audit.Fault{Name: w.Fault, Repaired: w.Before == Absent, Reapplied: w.Reapplied, After: string(w.After)}
	}
	return f
}

// Detail is the audit log's English line of the intervention.
func (iv *Intervention) Detail() string { return iv.Facts().English("faults-kept") }

// watched is a candidate's instance and the drawn faults an action on machine
// ("" = all) can lose: recorded as applied and telling their presence.
func watched(st *provision.State, sess *provision.Session, candidate, machine string) (*Instance, []labs.Fault, *provision.FaultRecord, error) {
	rec, applied, err := st.Faults(sess.Name, candidate)
	if err != nil || !applied {
		return nil, nil, nil, err
	}
	lab, err := sess.LoadLab()
	if err != nil {
		return nil, nil, nil, errclass.Wrap(errclass.BadInput, err)
	}
	ins, err := Instances(st, sess, lab, []string{candidate}, nil)
	if err != nil || len(ins) == 0 {
		return nil, nil, nil, err
	}
	recorded := map[string]bool{}
	for _, f := range rec.Faults {
		recorded[f] = true
	}
	var fs []labs.Fault
	for _, f := range ins[0].Scenario.Faults {
		if recorded[f.Name] && strings.TrimSpace(f.Present) != "" && (machine == "" || f.Machine == machine) {
			fs = append(fs, f)
		}
	}
	return ins[0], fs, &rec, nil
}

// downRead bounds a presence read on machines about to be taken down: one
// that does not answer is not waited for (its faults count as present).
const downRead = 15 * time.Second

func (in *Instance) presence(ctx context.Context, f labs.Fault) Presence {
	ok, err := in.Steps.Present(ctx, f)
	switch {
	case err != nil:
		return Unknown
	case ok:
		return Present
	}
	return Absent
}

// restore re-applies each fault of ws seen present (or unknown) before and
// absent now, then reads it again.
func (in *Instance) restore(ctx context.Context, fs []labs.Fault, ws []FaultWatch) {
	for i, f := range fs {
		w := &ws[i]
		if w.Before == Absent {
			w.After = in.presence(ctx, f)
			continue
		}
		if w.After = in.presence(ctx, f); w.After != Absent {
			continue
		}
		if _, err := in.Steps.ApplyStep(ctx, f.Step()); err == nil {
			w.Reapplied = true
		}
		w.After = in.presence(ctx, f)
	}
}

// Guard runs do, an admin action on a candidate's machines (all, or machine),
// keeping the faults the candidate drew as they were: each fault's presence is
// read before, and one present before and gone after is re-applied and read
// again; a fault the candidate had repaired is left repaired. A presence that
// cannot be read before counts as present: the exam's state, not a repair.
// The outcome is written to the audit log ("faults-kept") and returned.
func Guard(ctx context.Context, st *provision.State, sess *provision.Session, candidate, machine, action string, log Logf, do func() error) (*Intervention, error) {
	in, fs, _, err := watched(st, sess, candidate, machine)
	if err != nil {
		return nil, err
	}
	if len(fs) == 0 {
		return nil, do()
	}
	iv := &Intervention{Action: action, Candidate: candidate, Machine: machine, Faults: make([]FaultWatch, len(fs))}
	for i, f := range fs {
		iv.Faults[i] = FaultWatch{Fault: f.Name, Before: in.presence(ctx, f)}
	}
	if err := do(); err != nil {
		return nil, err
	}
	in.restore(ctx, fs, iv.Faults)
	log.printf("%s: faults after %s", candidate, iv.Detail())
	if err := keepUnseen(st, sess, iv, log); err != nil {
		return iv, err
	}
	return iv, auditKept(st, sess, iv)
}

// keepUnseen records as pending the faults present (or unreadable) before an
// intervention that could not be read after it (a machine not ready yet:
// reset or revert with --no-wait, a slow boot): the next `up` reads them and
// puts back those lost (RestorePending), rather than the candidate keeping a
// fault repaired by the intervention.
func keepUnseen(st *provision.State, sess *provision.Session, iv *Intervention, log Logf) error {
	var unseen []string
	for _, w := range iv.Faults {
		if w.Before != Absent && w.After == Unknown {
			unseen = append(unseen, w.Fault)
		}
	}
	if len(unseen) == 0 {
		return nil
	}
	rec, _, err := st.Faults(sess.Name, iv.Candidate)
	if err != nil {
		return fmt.Errorf("candidate %s: read faults: %w", iv.Candidate, err)
	}
	var machines []string
	if iv.Machine != "" {
		machines = []string{iv.Machine}
	}
	addPending(&rec, iv.Action, machines, unseen)
	if err := st.RecordFaults(sess.Name, iv.Candidate, rec); err != nil {
		return fmt.Errorf("candidate %s: record faults: %w", iv.Candidate, err)
	}
	log.printf("%s: %s not seen after %s (not ready yet?): `tailab up --session %s` puts back what was lost", iv.Candidate, strings.Join(unseen, ", "), iv.Action, sess.Name)
	return nil
}

// addPending adds faults to a record's pending ones, lost by action on
// machines (none: all); faults already pending stay (an earlier action's).
func addPending(rec *provision.FaultRecord, action string, machines, faults []string) {
	if len(rec.Pending) == 0 {
		rec.PendingBy, rec.PendingMachines = action, machines
	} else {
		if !strings.Contains(rec.PendingBy, action) {
			rec.PendingBy += ", " + action
		}
		if len(machines) == 0 || len(rec.PendingMachines) == 0 {
			rec.PendingMachines = nil
		} else {
			for _, m := range machines {
				if !slices.Contains(rec.PendingMachines, m) {
					rec.PendingMachines = append(rec.PendingMachines, m)
				}
			}
		}
	}
	for _, f := range faults {
		if !slices.Contains(rec.Pending, f) {
			rec.Pending = append(rec.Pending, f)
		}
	}
}

func auditKept(st *provision.State, sess *provision.Session, iv *Intervention) error {
	if err := st.Audit(sess.Name, provision.AuditEntry{Action: "faults-kept", Candidate: iv.Candidate, Machine: iv.Machine, Facts: iv.Facts()}); err != nil {
		return fmt.Errorf("candidate %s: audit: %w", iv.Candidate, err)
	}
	return nil
}

// Down takes candidates' machines down (all the session's when none are
// given), first recording, for each candidate named, the faults to put back at
// the next up (RecordPending).
func Down(ctx context.Context, eng *provision.Engine, sess *provision.Session, candidates []string, obs provision.Observer) error {
	for _, c := range candidates {
		if err := RecordPending(ctx, eng.State, sess, c); err != nil {
			return err
		}
	}
	return eng.Down(ctx, sess, candidates, obs)
}

// DownSummary says what Down removed, read back from the state: the whole
// session, or only the candidates named (the session stays with the others).
func DownSummary(st *provision.State, session string, candidates []string) string {
	if _, err := st.Session(session); len(candidates) == 0 || err != nil {
		return "session " + session + ": removed"
	}
	who := "candidate "
	if len(candidates) > 1 {
		who = "candidates "
	}
	return "session " + session + ": " + who + strings.Join(candidates, ", ") + " removed (the session stays, with its other candidates)"
}

// RecordPending reads, before a candidate's machines are taken down, which of
// their drawn faults are present (or unreadable), and records them for the
// next up (RestorePending).
func RecordPending(ctx context.Context, st *provision.State, sess *provision.Session, candidate string) error {
	return recordPending(ctx, st, sess, candidate, "down+up", nil)
}

// RecordReplaced is RecordPending for the machines a plan replaces (a machine
// that drifted from the lab is destroyed and created again: its faults go
// with it), read before `up` applies the plan; the faults of the machines it
// keeps are not touched.
func RecordReplaced(ctx context.Context, st *provision.State, sess *provision.Session, plan *provision.Plan) error {
	for _, r := range ReplacedMachines(plan) {
		by := "replace"
		if len(r.Machines) > 0 {
			by = "replace " + strings.Join(r.Machines, ",")
		}
		if err := recordPending(ctx, st, sess, r.Candidate, by, r.Machines); err != nil {
			return err
		}
	}
	return nil
}

// Replaced is a candidate's machines a plan replaces (none: all of them, as
// a provider that replaces a candidate's whole lab says).
type Replaced struct {
	Candidate string
	Machines  []string
}

// ReplacedMachines lists, candidate by candidate in plan order, the machines
// the plan replaces.
func ReplacedMachines(plan *provision.Plan) []Replaced {
	return planMachines(plan, func(a provision.Action) bool { return a.Op == provision.OpReplace })
}

// StartedMachines lists, candidate by candidate in plan order, the machines
// the plan keeps but starts: found stopped (provision.ReasonStopped).
func StartedMachines(plan *provision.Plan) []Replaced {
	return planMachines(plan, func(a provision.Action) bool {
		return a.Op == provision.OpKeep && a.Reason == provision.ReasonStopped
	})
}

// planMachines lists, candidate by candidate in plan order, the machines of
// the candidates' actions that pick selects (none: all the candidate's).
func planMachines(plan *provision.Plan, pick func(provision.Action) bool) []Replaced {
	var out []Replaced
	at := map[string]int{}
	for _, a := range plan.Actions {
		r := a.Resource
		if !pick(a) || r.Candidate == "" || r.Type == "network" {
			continue
		}
		i, ok := at[r.Candidate]
		if !ok {
			i, at[r.Candidate] = len(out), len(out)
			out = append(out, Replaced{Candidate: r.Candidate, Machines: []string{}})
		}
		switch {
		case out[i].Machines == nil: // all already
		case r.Machine == "":
			out[i].Machines = nil
		case !slices.Contains(out[i].Machines, r.Machine):
			out[i].Machines = append(out[i].Machines, r.Machine)
		}
	}
	return out
}

// RecordStarted records as pending the volatile faults (labs.Fault.Volatile)
// of the machines a plan starts, found stopped: the candidate stopped one
// from inside (`kill 1` ends a container's init), it crashed, or the host
// restarted. What such a machine held in memory is gone, and whether the
// candidate had repaired it before can no longer be read, so each counts as
// present, as Guard counts a presence it cannot read: `up` puts back those
// the start lacks (RestorePending) and audits it. A fault on the machine's
// disk is left as the candidate left it.
func RecordStarted(st *provision.State, sess *provision.Session, plan *provision.Plan) error {
	for _, r := range StartedMachines(plan) {
		_, fs, rec, err := watched(st, sess, r.Candidate, "")
		if err != nil {
			return err
		}
		var lost []string
		for _, f := range fs {
			if f.Volatile && (r.Machines == nil || slices.Contains(r.Machines, f.Machine)) {
				lost = append(lost, f.Name)
			}
		}
		if len(lost) == 0 {
			continue
		}
		by := "restart"
		if len(r.Machines) > 0 {
			by = "restart " + strings.Join(r.Machines, ",")
		}
		addPending(rec, by, r.Machines, lost)
		if err := st.RecordFaults(sess.Name, r.Candidate, *rec); err != nil {
			return fmt.Errorf("candidate %s: record faults: %w", r.Candidate, err)
		}
	}
	return nil
}

// recordPending records the faults on machines (none: all) present now, for
// the next up; by names the action that will lose them. Faults still pending
// from an earlier action (an up that did not wait for its machines) stay
// pending: what is read now may be their absence.
func recordPending(ctx context.Context, st *provision.State, sess *provision.Session, candidate, by string, machines []string) error {
	in, fs, rec, err := watched(st, sess, candidate, "")
	if err != nil || len(fs) == 0 {
		return err
	}
	var present []string
	for _, f := range fs {
		if len(machines) > 0 && !slices.Contains(machines, f.Machine) || slices.Contains(rec.Pending, f.Name) {
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, downRead)
		p := in.presence(rctx, f)
		cancel()
		if p != Absent {
			present = append(present, f.Name)
		}
	}
	addPending(rec, by, machines, present)
	if err := st.RecordFaults(sess.Name, candidate, *rec); err != nil {
		return fmt.Errorf("candidate %s: record faults: %w", candidate, err)
	}
	return nil
}

// RestorePending re-applies, once a candidate's machines are up again, the
// faults recorded pending (RecordPending, RecordReplaced) that the new
// machines lack; only the re-created machines' faults are read.
func RestorePending(ctx context.Context, st *provision.State, sess *provision.Session, candidate string) (*Intervention, error) {
	in, fs, rec, err := watched(st, sess, candidate, "")
	if err != nil || rec == nil || len(rec.Pending) == 0 {
		return nil, err
	}
	action := rec.PendingBy
	if action == "" {
		action = "down+up"
	}
	iv := &Intervention{Action: action, Candidate: candidate}
	if len(rec.PendingMachines) == 1 {
		iv.Machine = rec.PendingMachines[0]
	}
	// After a restart alone, the faults on the machines' disks were not
	// lost: only the volatile ones are watched.
	restartOnly := strings.HasPrefix(action, "restart") && !strings.Contains(action, ", ")
	var kept []labs.Fault
	for _, f := range fs {
		if len(rec.PendingMachines) > 0 && !slices.Contains(rec.PendingMachines, f.Machine) || restartOnly && !f.Volatile {
			continue
		}
		b := Absent
		if slices.Contains(rec.Pending, f.Name) {
			b = Present
		}
		kept = append(kept, f)
		iv.Faults = append(iv.Faults, FaultWatch{Fault: f.Name, Before: b})
	}
	in.restore(ctx, kept, iv.Faults)
	rec.Pending, rec.PendingBy, rec.PendingMachines = nil, "", nil
	if err := st.RecordFaults(sess.Name, candidate, *rec); err != nil {
		return nil, fmt.Errorf("candidate %s: record faults: %w", candidate, err)
	}
	return iv, auditKept(st, sess, iv)
}
