package tfe

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	tfe "github.com/hashicorp/go-tfe"
)

func (s *Server) createRun(w http.ResponseWriter, d *doc) {
	wr := d.rel("workspace")
	if len(wr) != 1 {
		unprocessable(w, "workspace is required")
		return
	}
	ws, ok := s.ws[wr[0].ID]
	if !ok {
		notFound(w)
		return
	}
	cvID := ws.LastCV
	if cr := d.rel("configuration-version"); len(cr) == 1 {
		cvID = cr[0].ID
	}
	c, ok := s.cvs[cvID]
	if !ok || c.Status != tfe.ConfigurationUploaded {
		// What real TFE answers for a run on a configuration version that is
		// not processed yet (or none at all).
		unprocessable(w, "invalid run parameters: the configuration version is not uploaded")
		return
	}
	ws.LastCV = cvID
	rn := &run{ID: s.id("run"), Workspace: ws.ID, CV: cvID, Status: tfe.RunPending, AutoApply: ws.AutoApply,
		PlanStatus: tfe.PlanPending, ApplyStatus: tfe.ApplyPending}
	if s.Dialect != OTF { // OTF does not store the message
		rn.Message, _ = d.str("message")
	}
	rn.Destroy, _ = d.boolean("is-destroy")
	if aa, ok := d.boolean("auto-apply"); ok {
		rn.AutoApply = aa
	}
	rn.steps = []tfe.RunStatus{tfe.RunPlanQueued, tfe.RunPlanning, tfe.RunPlanned}
	rn.steps = append(rn.steps, s.ExtraStatuses...)
	s.runs[rn.ID] = rn
	ws.CurrentRun = rn.ID
	writeDoc(w, 201, s.runModel(rn), nil)
}

func (s *Server) runAction(w http.ResponseWriter, id, action string) {
	rn, ok := s.runs[id]
	if !ok {
		notFound(w)
		return
	}
	switch action {
	case "apply":
		if !s.confirmable(rn) {
			s.badTransition(w, fmt.Sprintf("cannot apply run with status %s", rn.Status))
			return
		}
		rn.confirmed = true
		rn.Status = tfe.RunConfirmed
		rn.steps = []tfe.RunStatus{tfe.RunApplyQueued, tfe.RunApplying, tfe.RunApplied}
	case "discard":
		if runEnded(rn.Status) || rn.confirmed {
			s.badTransition(w, fmt.Sprintf("cannot discard run with status %s", rn.Status))
			return
		}
		rn.Status, rn.steps = tfe.RunDiscarded, nil
	case "cancel":
		switch {
		case runEnded(rn.Status):
			s.badTransition(w, fmt.Sprintf("cannot cancel run with status %s", rn.Status))
			return
		case rn.stuck:
			// Nobody runs it any more: the cancel is recorded, and a
			// force-cancel is possible after the cool-off.
			if rn.forceAt.IsZero() {
				rn.forceAt = time.Now().Add(s.CoolOff)
			}
		default:
			rn.Status, rn.steps = tfe.RunCanceled, nil
			s.abortApply(rn)
		}
	case "force-cancel":
		if runEnded(rn.Status) || rn.forceAt.IsZero() || time.Now().Before(rn.forceAt) {
			s.badTransition(w, fmt.Sprintf("cannot force-cancel run with status %s", rn.Status))
			return
		}
		rn.Status, rn.steps = "force_canceled", nil
		s.abortApply(rn)
	default:
		notFound(w)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// abortApply: a run stopped while applying leaves the objects it created on
// the host, outside the workspace's state.
func (s *Server) abortApply(rn *run) {
	if rn.ApplyStatus == tfe.ApplyRunning {
		rn.ApplyStatus = tfe.ApplyCanceled
	}
}

// confirmable: planned with changes, every pre-apply step done, not auto-applied.
func (s *Server) confirmable(rn *run) bool {
	return len(rn.steps) == 0 && !rn.confirmed && !rn.AutoApply && rn.PlanStatus == tfe.PlanFinished &&
		rn.Status != tfe.RunPlannedAndFinished && !runEnded(rn.Status)
}

func runEnded(st tfe.RunStatus) bool {
	switch st {
	case tfe.RunApplied, tfe.RunErrored, tfe.RunDiscarded, tfe.RunCanceled, tfe.RunPlannedAndFinished, "force_canceled":
		return true
	}
	return false
}

// advance moves a run one status forward (each read of a run is a tick).
func (s *Server) advance(rn *run) {
	if runEnded(rn.Status) || len(rn.steps) == 0 || rn.stuck {
		return
	}
	ws := s.ws[rn.Workspace]
	if rn.Status == tfe.RunApplying && ws != nil && s.Stick != nil && s.Stick(ws.Name) {
		rn.stuck = true
		return
	}
	next := rn.steps[0]
	rn.steps = rn.steps[1:]
	switch next {
	case tfe.RunPlanning:
		rn.PlanStatus = tfe.PlanRunning
	case tfe.RunPlanned:
		s.plan(rn, ws)
		if rn.planErr != "" {
			rn.Status, rn.PlanStatus, rn.steps = tfe.RunErrored, tfe.PlanErrored, nil
			return
		}
		rn.PlanStatus = tfe.PlanFinished
		if rn.Adds == 0 && rn.Destroys == 0 {
			rn.Status, rn.steps = tfe.RunPlannedAndFinished, nil
			if rn.Destroy && ws != nil {
				ws.Resources, ws.Outputs = 0, map[string]any{}
			}
			return
		}
	case tfe.RunApplying:
		rn.ApplyStatus = tfe.ApplyRunning
		if log := s.applyObjects(rn, ws); log != "" {
			rn.Status, rn.ApplyStatus, rn.ApplyLog, rn.steps = tfe.RunErrored, tfe.ApplyErrored, log, nil
			return
		}
	case tfe.RunApplied:
		rn.ApplyStatus = tfe.ApplyFinished
		rn.ApplyLog = fmt.Sprintf("Apply complete! Resources: %d added, 0 changed, %d destroyed.\n", rn.Adds, rn.Destroys)
		if rn.Destroy {
			rn.ApplyLog = fmt.Sprintf("Destroy complete! Resources: %d destroyed.\n", rn.Destroys)
		}
		if ws != nil {
			ws.StateSerial++
			if rn.Destroy {
				ws.Resources, ws.Outputs, ws.Objects = 0, map[string]any{}, nil
			} else {
				ws.Resources, ws.Outputs, ws.AppliedCV, ws.Objects = rn.resources, rn.outputs, rn.CV, rn.objects
			}
		}
	}
	rn.Status = next
	if len(rn.steps) == 0 && rn.AutoApply && next != tfe.RunApplied && rn.PlanStatus == tfe.PlanFinished && !rn.confirmed {
		rn.confirmed = true
		rn.steps = []tfe.RunStatus{tfe.RunApplyQueued, tfe.RunApplying, tfe.RunApplied}
	}
}

// applyObjects plays an apply on the modelled host: a destroy removes the
// state's objects; an apply creates the objects the state does not hold, and
// fails (its log says which, as the libvirt provider's does) on one that
// exists outside the state, or when FailApply says so. It returns the error
// log, "" on success.
func (s *Server) applyObjects(rn *run, ws *workspace) string {
	if ws == nil {
		return "Error: workspace gone\n"
	}
	if s.FailApply != nil {
		if log := s.FailApply(ws.Name); log != "" {
			return log
		}
	}
	if rn.Destroy {
		for _, o := range ws.Objects {
			delete(s.host, o)
		}
		return ""
	}
	for _, o := range rn.objects {
		if slices.Contains(ws.Objects, o) {
			continue
		}
		if _, ok := s.host[o]; ok {
			return fmt.Sprintf("Terraform v1.5.7\nlibvirt_network.x: Creating...\n\n│ Error: error defining libvirt object: operation failed: %q already exists\n│\n│   with %s,\n╵\n", o, o)
		}
		s.host[o] = ws.ID
	}
	for _, o := range ws.Objects { // replaced objects the new module no longer has
		if !slices.Contains(rn.objects, o) {
			delete(s.host, o)
		}
	}
	return ""
}

// plan evaluates the run's module: resource counts, outputs, or an error log.
func (s *Server) plan(rn *run, ws *workspace) {
	if ws == nil {
		rn.planErr = "workspace gone"
		return
	}
	if s.FailPlan != nil {
		if log := s.FailPlan(ws.Name); log != "" {
			rn.planErr, rn.PlanLog = "failed", log
			return
		}
	}
	if rn.Destroy {
		rn.Destroys = ws.Resources
		rn.PlanLog = fmt.Sprintf("Plan: 0 to add, 0 to change, %d to destroy.\n", rn.Destroys)
		return
	}
	vars := map[string]string{}
	for _, v := range ws.Vars {
		if v.Category == tfe.CategoryTerraform {
			vars[v.Key] = v.Value
		}
	}
	objects, outputs, err := evaluate(s.cvs[rn.CV].Files, vars)
	if err != nil {
		rn.planErr = err.Error()
		rn.PlanLog = "Terraform v1.5.7\n\nError: " + err.Error() + "\n"
		return
	}
	for i, o := range objects {
		if rest, ok := strings.CutPrefix(o, "@"); ok {
			objects[i] = ws.Name + "/" + rest
		}
	}
	res := len(objects)
	rn.resources, rn.outputs, rn.objects = res, outputs, objects
	switch {
	case ws.Resources == 0:
		rn.Adds = res
	case ws.AppliedCV == "" || !jsonEqual(s.cvs[ws.AppliedCV].Files, s.cvs[rn.CV].Files):
		rn.Adds, rn.Destroys = 1, 1 // a changed module: count it as one replacement
		if res != ws.Resources {
			rn.Adds, rn.Destroys = res, ws.Resources
		}
	}
	rn.PlanLog = fmt.Sprintf("Terraform v1.5.7\nPlan: %d to add, 0 to change, %d to destroy.\n", rn.Adds, rn.Destroys)
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func (s *Server) runModel(rn *run) *tfe.Run {
	num := strings.TrimPrefix(rn.ID, "run-")
	m := &tfe.Run{ID: rn.ID, Status: rn.Status, Message: rn.Message, IsDestroy: rn.Destroy, AutoApply: rn.AutoApply,
		HasChanges: rn.Adds+rn.Destroys > 0, Source: tfe.RunSourceAPI, CreatedAt: time.Now(),
		Actions: &tfe.RunActions{IsConfirmable: s.confirmable(rn), IsDiscardable: !runEnded(rn.Status) && !rn.confirmed,
			IsCancelable: !runEnded(rn.Status), IsForceCancelable: s.forceCancelable(rn)},
		ForceCancelAvailableAt: rn.forceAt,
		Workspace:              &tfe.Workspace{ID: rn.Workspace},
		ConfigurationVersion:   &tfe.ConfigurationVersion{ID: rn.CV},
		Plan: &tfe.Plan{ID: "plan-" + num, Status: rn.PlanStatus, HasChanges: rn.Adds+rn.Destroys > 0,
			ResourceAdditions: rn.Adds, ResourceDestructions: rn.Destroys, LogReadURL: s.URL + "/_archivist/v1/object/log-plan-" + num},
		Apply: &tfe.Apply{ID: "apply-" + num, Status: rn.ApplyStatus, LogReadURL: s.URL + "/_archivist/v1/object/log-apply-" + num},
	}
	if rn.ApplyStatus == tfe.ApplyFinished {
		m.Apply.ResourceAdditions, m.Apply.ResourceDestructions = rn.Adds, rn.Destroys
	}
	return m
}

// forceCancelable is the run's is-force-cancelable: TFE says so once the
// cool-off after a cancel has passed; OTF as soon as a cancel was asked,
// while it still refuses the force-cancel (500) until the cool-off passed.
func (s *Server) forceCancelable(rn *run) bool {
	if runEnded(rn.Status) || rn.forceAt.IsZero() {
		return false
	}
	return s.Dialect == OTF || time.Now().After(rn.forceAt)
}

// runDoc is a run as GET /runs/:id answers it: OTF ignores include, so its
// plan and apply are ids only.
func (s *Server) runDoc(rn *run) *tfe.Run {
	m := s.runModel(rn)
	if s.Dialect == OTF {
		m.Plan, m.Apply = &tfe.Plan{ID: m.Plan.ID}, &tfe.Apply{ID: m.Apply.ID}
	}
	return m
}
