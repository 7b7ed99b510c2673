package exam

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/checks/probe/winrm"
	"github.com/tailab/tailab/internal/errclass"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/scenario"
)

// Logf receives one line of progress; nil is silent.
type Logf func(format string, args ...any)

func (l Logf) printf(format string, args ...any) {
	if l != nil {
		l(format, args...)
	}
}

// Instance is one candidate bound to their lab's scenario: the grader's view
// of their machines, the faults and solution steps resolved for them, and the
// runner that applies those to the machines. `up` applies the drawn faults
// through it, the demo the solution's steps, verify every fault and step.
type Instance struct {
	Candidate checks.Candidate
	Scenario  *labs.Scenario
	Steps     *scenario.Runner
}

// Instances binds the session's candidates (or only those given) to their
// scenarios; w is the steps' WinRM client (nil: the grader's default).
func Instances(st *provision.State, sess *provision.Session, lab *labs.Lab, only []string, w *winrm.WinRM) ([]*Instance, error) {
	ins, _, err := instances(st, sess, lab, only, w)
	return ins, err
}

// instances is Instances with the lab-network addresses of Bind.
func instances(st *provision.State, sess *provision.Session, lab *labs.Lab, only []string, w *winrm.WinRM) ([]*Instance, map[string]map[string][]checks.NetAddress, error) {
	cands, labNets, err := Bind(st, sess, lab, only)
	if err != nil {
		return nil, nil, err
	}
	byID := map[string]labs.Candidate{}
	for _, c := range sess.Candidates {
		byID[c.ID] = c
	}
	out := make([]*Instance, len(cands))
	for i, c := range cands {
		sc, err := lab.ResolveScenario(labs.ResolveInput{Session: sess.Name, Candidate: byID[c.ID]})
		if err != nil {
			return nil, nil, errclass.Wrap(errclass.BadInput, fmt.Errorf("candidate %s: %w", c.ID, err))
		}
		out[i] = &Instance{Candidate: c, Scenario: sc, Steps: &scenario.Runner{Machines: c.Machines, WinRM: w}}
	}
	return out, labNets, nil
}

// ApplyFaults applies faults to the instance's machines.
func (in *Instance) ApplyFaults(ctx context.Context, faults []labs.Fault) error {
	if _, err := in.Steps.ApplyFaults(ctx, faults); err != nil {
		return fmt.Errorf("candidate %s: apply faults: %w", in.Candidate.ID, err)
	}
	return nil
}

// PrepareSambaTemplates makes sure every Samba AD domain the session's lab
// runs (for the candidates given, or all) has its host template (provisioned
// once per host and domain, ~10 s; a DC container then copies it in 1-4 s
// instead of provisioning itself).
func PrepareSambaTemplates(ctx context.Context, sess *provision.Session, only []string, log Logf) error {
	ins, err := sess.Instances(only...)
	if err != nil {
		return errclass.Wrap(errclass.NotFound, err)
	}
	done := map[string]bool{}
	for _, in := range ins {
		for _, spec := range provision.SambaDCSpecs(in) {
			t := time.Now()
			dir, err := provision.EnsureSambaDCTemplate(ctx, spec)
			if err != nil {
				return fmt.Errorf("samba-dc template: %w", err)
			}
			if !done[dir] {
				log.printf("samba-dc template %s ready (%.1fs)", dir, time.Since(t).Seconds())
			}
			done[dir] = true
		}
	}
	return nil
}

// ApplyDrawnFaults applies each candidate's drawn faults once its machines are
// ready, and records them, so a later `up` (a reconcile) does not apply them
// again.
func ApplyDrawnFaults(ctx context.Context, st *provision.State, sess *provision.Session, only []string, log Logf) error {
	lab, err := sess.LoadLab()
	if err != nil {
		return errclass.Wrap(errclass.BadInput, err)
	}
	if len(lab.Faults) == 0 {
		return nil
	}
	if err := ExistingRefuses(sess.Provider, lab, "faults"); err != nil {
		return err
	}
	ins, err := Instances(st, sess, lab, only, nil)
	if err != nil {
		return err
	}
	for _, in := range ins {
		id := in.Candidate.ID
		if _, applied, err := st.Faults(sess.Name, id); err != nil {
			return fmt.Errorf("candidate %s: read faults: %w", id, err)
		} else if applied {
			// Applied before: the machines may be new (down then up, a
			// drifted machine replaced), the faults present before are put
			// back (exam.RestorePending).
			iv, err := RestorePending(ctx, st, sess, id)
			if err != nil {
				return err
			}
			if iv != nil {
				log.printf("%s: faults after %s", id, iv.Detail())
			}
			continue
		}
		drawn := in.Scenario.Drawn
		if err := in.ApplyFaults(ctx, drawn); err != nil {
			return err
		}
		rec := provision.FaultRecord{At: time.Now().UTC()}
		for _, f := range drawn {
			rec.Faults = append(rec.Faults, f.Name)
		}
		if err := st.RecordFaults(sess.Name, id, rec); err != nil {
			return fmt.Errorf("candidate %s: record faults: %w", id, err)
		}
		if err := st.Audit(sess.Name, provision.AuditEntry{Action: "faults", Candidate: id, Detail: FaultNames(drawn)}); err != nil {
			return fmt.Errorf("candidate %s: audit: %w", id, err)
		}
		log.printf("%s: faults applied: %s", id, FaultNames(drawn))
	}
	return nil
}

// FaultNames lists faults by name for a log line ("none" when empty).
func FaultNames(fs []labs.Fault) string {
	if len(fs) == 0 {
		return "none"
	}
	var names []string
	for _, f := range fs {
		names = append(names, f.Name)
	}
	return strings.Join(names, ", ")
}

// EveryFault is the lab's faults as the grader sees them when all are applied.
func EveryFault(lab *labs.Lab) []checks.Fault {
	out := make([]checks.Fault, 0, len(lab.Faults))
	for _, f := range lab.Faults {
		out = append(out, checks.Fault{Name: f.Name, Title: f.Title})
	}
	return out
}
