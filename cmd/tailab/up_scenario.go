package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/scenario"
)

// prepareSambaTemplates makes sure every Samba AD domain the session's lab runs
// has its host template (provisioned once per host and domain, ~10 s; a DC
// container then copies it in 1-4 s instead of provisioning itself).
func prepareSambaTemplates(ctx context.Context, w io.Writer, quiet bool, sess *provision.Session, only []string) error {
	ins, err := sess.Instances(only...)
	if err != nil {
		return err
	}
	done := map[string]bool{}
	for _, in := range ins {
		for _, spec := range provision.SambaDCSpecs(in) {
			t := time.Now()
			dir, err := provision.EnsureSambaDCTemplate(ctx, spec)
			if err != nil {
				return fmt.Errorf("samba-dc template: %w", err)
			}
			if !done[dir] && !quiet {
				fmt.Fprintf(w, "samba-dc template %s ready (%.1fs)\n", dir, time.Since(t).Seconds())
			}
			done[dir] = true
		}
	}
	return nil
}

// applyDrawnFaults applies each candidate's drawn faults once its machines are
// ready, and records them, so a later `up` (a reconcile) does not apply them again.
func applyDrawnFaults(ctx context.Context, w io.Writer, quiet bool, st *provision.State, sess *provision.Session, only []string) error {
	lab, err := sess.LoadLab()
	if err != nil {
		return err
	}
	if len(lab.Faults) == 0 {
		return nil
	}
	cands, _, err := gradeCandidates(st, sess, lab, only)
	if err != nil {
		return err
	}
	byID := map[string]labs.Candidate{}
	for _, c := range sess.Candidates {
		byID[c.ID] = c
	}
	for _, c := range cands {
		if _, applied, err := st.Faults(sess.Name, c.ID); err != nil {
			return err
		} else if applied {
			continue
		}
		sc, err := lab.ResolveScenario(labs.ResolveInput{Session: sess.Name, Candidate: byID[c.ID]})
		if err != nil {
			return err
		}
		runner := &scenario.Runner{Machines: c.Machines}
		if _, err := runner.ApplyFaults(ctx, sc.Drawn); err != nil {
			return fmt.Errorf("candidate %s: apply faults: %w", c.ID, err)
		}
		rec := provision.FaultRecord{At: time.Now().UTC()}
		for _, f := range sc.Drawn {
			rec.Faults = append(rec.Faults, f.Name)
		}
		if err := st.RecordFaults(sess.Name, c.ID, rec); err != nil {
			return err
		}
		if err := st.Audit(sess.Name, provision.AuditEntry{Action: "faults", Candidate: c.ID, Detail: faultNames(sc.Drawn)}); err != nil {
			return err
		}
		if !quiet {
			fmt.Fprintf(w, "%s: faults applied: %s\n", c.ID, faultNames(sc.Drawn))
		}
	}
	return nil
}
