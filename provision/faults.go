package provision

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/checks/probe/ssh"
	"github.com/tailab/tailab/labs"
)

// DefaultStepTimeout bounds a fault or solution step without a timeout.
const DefaultStepTimeout = 60 * time.Second

// StepResult is what applying one step gave.
type StepResult struct {
	Step     string        `json:"step"`
	Machine  string        `json:"machine"`
	ExitCode int           `json:"exit_code"`
	Output   string        `json:"output,omitempty"` // stdout then stderr, secrets masked, cut at 4 KiB
	Duration time.Duration `json:"duration"`
}

// StepRunner applies fault and solution steps to one candidate's machines through
// their transports: ssh (the step's `run` given to `sh -s` on stdin, so scripts
// never appear in a process list); winrm and ldap are for later.
type StepRunner struct {
	// Machines are the candidate's targets by machine name (management address,
	// credentials, masker), as the grader builds them.
	Machines map[string]probe.Target
	ssh      *ssh.Probe
}

// ApplyStep runs one step and fails when the machine cannot be reached or the
// script exits non-zero (the error then carries its output).
func (r *StepRunner) ApplyStep(ctx context.Context, st labs.Step) (StepResult, error) {
	res := StepResult{Step: st.Name, Machine: st.Machine}
	t, ok := r.Machines[st.Machine]
	if !ok {
		return res, fmt.Errorf("step %s: no machine %q", st.Name, st.Machine)
	}
	if tr := st.StepTransport(); tr != "ssh" {
		return res, fmt.Errorf("step %s: transport %q is not supported yet", st.Name, tr)
	}
	if r.ssh == nil {
		r.ssh = ssh.New()
	}
	timeout := time.Duration(st.Timeout)
	if timeout <= 0 {
		timeout = DefaultStepTimeout
	}
	script := st.Run
	req := probe.Request{ID: st.Name, Params: &ssh.Params{Command: "sh -s", Stdin: &script, Timeout: timeout}, Timeout: timeout}
	start := time.Now()
	obs, err := r.ssh.Run(ctx, t, []probe.Request{req})
	res.Duration = time.Since(start)
	if err == nil && len(obs) == 1 && obs[0].Err != nil {
		err = obs[0].Err
	}
	if err != nil {
		return res, fmt.Errorf("step %s on %s: %w", st.Name, st.Machine, err)
	}
	if len(obs) != 1 {
		return res, fmt.Errorf("step %s on %s: no observation", st.Name, st.Machine)
	}
	v := obs[0].Values
	res.ExitCode, _ = v["exit_code"].(int)
	out := strings.TrimSpace(fmt.Sprint(v["stdout"]) + "\n" + fmt.Sprint(v["stderr"]))
	if t.Masker != nil {
		out = t.Masker.Mask(out)
	}
	if len(out) > 4096 {
		out = out[:4096] + "…"
	}
	res.Output = out
	if res.ExitCode != 0 {
		return res, fmt.Errorf("step %s on %s: exit status %d: %s", st.Name, st.Machine, res.ExitCode, out)
	}
	return res, nil
}

// ApplyFaults applies the given faults in order (labs.Lab.FaultsFor draws them).
func (r *StepRunner) ApplyFaults(ctx context.Context, faults []labs.Fault) ([]StepResult, error) {
	var out []StepResult
	for _, f := range faults {
		res, err := r.ApplyStep(ctx, f.Step())
		out = append(out, res)
		if err != nil {
			return out, fmt.Errorf("fault %w", err)
		}
	}
	return out, nil
}

// ApplySteps applies solution steps in order, stopping at the first failure.
func (r *StepRunner) ApplySteps(ctx context.Context, steps []labs.Step) ([]StepResult, error) {
	var out []StepResult
	for _, st := range steps {
		res, err := r.ApplyStep(ctx, st)
		out = append(out, res)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}
