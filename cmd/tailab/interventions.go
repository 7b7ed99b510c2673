package main

import (
	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/provision"
)

// interventions reads a session's audit log for the jury record: what was done
// to the candidates' labs (up, down, reset, revert, faults...). Grading rounds
// and console-password reveals are left out: they change nothing in a lab.
func interventions(st *provision.State, session string) ([]checks.Intervention, error) {
	log, err := st.AuditLog(session)
	if err != nil {
		return nil, err
	}
	var out []checks.Intervention
	for _, e := range log {
		switch e.Action {
		case "grade", "access":
			continue
		}
		out = append(out, checks.Intervention{Time: e.Time, User: e.User, Action: e.Action,
			Candidate: e.Candidate, Machine: e.Machine, Detail: e.Detail})
	}
	return out, nil
}
