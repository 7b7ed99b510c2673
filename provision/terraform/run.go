package terraform

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	tfe "github.com/hashicorp/go-tfe"

	"github.com/tailab/tailab/provision"
)

// Run statuses that end a run. Any other status — including ones this
// version of tailab does not know, since TFE keeps adding them — means "not
// yet": tailab keeps polling until RunTimeout.
var (
	runSucceeded = map[tfe.RunStatus]bool{tfe.RunApplied: true, tfe.RunPlannedAndFinished: true, tfe.RunPlannedAndSaved: true}
	runFailed    = map[tfe.RunStatus]bool{tfe.RunErrored: true, tfe.RunCanceled: true, tfe.RunDiscarded: true, "force_canceled": true}
)

// maxReadFailures is how many server errors in a row reading a run tailab rides out.
const maxReadFailures = 5

// runDone reports whether a run has ended.
func runDone(r *tfe.Run) bool { return r != nil && (runSucceeded[r.Status] || runFailed[r.Status]) }

// queueRun starts a run of the workspace (a destroy run when destroy is set).
func (p *Provider) queueRun(ctx context.Context, ws *workspace, cv *tfe.ConfigurationVersion, message string, destroy bool) (*tfe.Run, error) {
	c, err := p.tfeClient()
	if err != nil {
		return nil, err
	}
	opts := tfe.RunCreateOptions{Workspace: &tfe.Workspace{ID: ws.ID}, Message: tfe.String(message), AutoApply: tfe.Bool(p.cfg.AutoApply)}
	if cv != nil {
		opts.ConfigurationVersion = cv
	}
	if destroy {
		opts.IsDestroy = tfe.Bool(true)
	}
	var r *tfe.Run
	verb := "queue a run"
	if destroy {
		verb = "queue a destroy run"
	}
	if err := p.call(ctx, fmt.Sprintf("%s in workspace %q", verb, ws.Name), func(ctx context.Context) error {
		r, err = c.Runs.Create(ctx, opts)
		return err
	}); err != nil {
		return nil, err
	}
	ws.Run = r
	p.event(ws, "run "+r.ID+" queued", nil, 0)
	return r, nil
}

func (p *Provider) event(ws *workspace, what string, err error, elapsed time.Duration) {
	if p.obs == nil {
		return
	}
	p.obs.Event(provision.Event{Time: time.Now(), Candidate: ws.Candidate, Resource: ws.Name, What: what, Err: err, Elapsed: elapsed})
}

// follow polls a run until it ends, reporting each status and the plan's and
// apply's resource counts, and confirms it when it waits for confirmation
// (workspaces without auto-apply). A failed run's error carries the relevant
// lines of its plan or apply log.
func (p *Provider) follow(ctx context.Context, ws *workspace, r *tfe.Run) (*tfe.Run, error) {
	c, err := p.tfeClient()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.RunTimeout)
	defer cancel()
	start := time.Now()
	var last tfe.RunStatus
	planShown, applyShown, confirmed := false, false, false
	failures := 0
	for {
		if r.Status != last {
			p.event(ws, fmt.Sprintf("run %s: %s", r.ID, r.Status), nil, 0)
			last = r.Status
		}
		if r.Plan != nil && !planShown && r.Plan.Status == tfe.PlanFinished {
			planShown = true
			p.event(ws, fmt.Sprintf("plan: %d to add, %d to change, %d to destroy", r.Plan.ResourceAdditions, r.Plan.ResourceChanges, r.Plan.ResourceDestructions), nil, 0)
		}
		if r.Apply != nil && !applyShown && r.Apply.Status == tfe.ApplyFinished {
			applyShown = true
			p.event(ws, fmt.Sprintf("apply: %d added, %d changed, %d destroyed", r.Apply.ResourceAdditions, r.Apply.ResourceChanges, r.Apply.ResourceDestructions), nil, time.Since(start))
		}
		switch {
		case runSucceeded[r.Status]:
			return r, nil
		case runFailed[r.Status]:
			return r, p.runError(ctx, ws, r)
		case r.Actions != nil && r.Actions.IsConfirmable && !confirmed && !r.AutoApply:
			if err := p.call(ctx, fmt.Sprintf("confirm run %s of workspace %q", r.ID, ws.Name), func(ctx context.Context) error {
				return c.Runs.Apply(ctx, r.ID, tfe.RunApplyOptions{Comment: tfe.String("confirmed by tailab")})
			}); err != nil {
				return r, err
			}
			confirmed = true
			p.event(ws, "run "+r.ID+" confirmed", nil, 0)
		}
		if err := sleep(ctx, p.cfg.PollInterval); err != nil {
			return r, p.explain(fmt.Sprintf("wait for run %s of workspace %q (last status %s)", r.ID, ws.Name, r.Status), 0, err)
		}
		var nr *tfe.Run
		err := p.call(ctx, fmt.Sprintf("read run %s of workspace %q", r.ID, ws.Name), func(ctx context.Context) error {
			nr, err = c.Runs.ReadWithOptions(ctx, r.ID, &tfe.RunReadOptions{Include: []tfe.RunIncludeOpt{tfe.RunPlan, tfe.RunApply}})
			return err
		})
		if err != nil {
			// A run lasts minutes: ride out a few server errors (go-tfe
			// retries 429s itself) before giving up.
			var ae *APIError
			if errors.As(err, &ae) && ae.Status >= 500 && failures < maxReadFailures {
				failures++
				continue
			}
			return r, err
		}
		failures = 0
		r = nr
		ws.Run = r
	}
}

// runError is a failed run's error with the relevant log lines.
func (p *Provider) runError(ctx context.Context, ws *workspace, r *tfe.Run) error {
	msg := fmt.Sprintf("run %s of workspace %q %s", r.ID, ws.Name, r.Status)
	if r.Status != tfe.RunErrored {
		return fmt.Errorf("%s (see it in TFE: the run was stopped by someone or a policy)", msg)
	}
	c, err := p.tfeClient()
	if err != nil {
		return err
	}
	lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var logs io.Reader
	phase := "plan"
	if r.Apply != nil && r.Apply.ID != "" && r.Apply.Status == tfe.ApplyErrored {
		phase = "apply"
		logs, err = c.Applies.Logs(lctx, r.Apply.ID)
	} else if r.Plan != nil && r.Plan.ID != "" {
		logs, err = c.Plans.Logs(lctx, r.Plan.ID)
	} else {
		return fmt.Errorf("%s", msg)
	}
	if err != nil {
		return fmt.Errorf("%s (its %s log could not be read: %v)", msg, phase, scrub(err, p.cfg.Token))
	}
	lines := relevantLines(io.LimitReader(logs, 1<<20), 20)
	if len(lines) == 0 {
		return fmt.Errorf("%s during %s (the log shows no error line)", msg, phase)
	}
	return fmt.Errorf("%s during %s:\n    %s", msg, phase, strings.Join(lines, "\n    "))
}

var ansi = regexp.MustCompile(`\x1b\[[0-9;]*[a-zA-Z]`)

// relevantLines picks the error lines of a plan or apply log: from the first
// "Error" line on for text logs, the error messages (with their details) for
// structured JSON logs; at most max lines.
func relevantLines(r io.Reader, max int) []string {
	var out []string
	in := false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() && len(out) < max {
		line := strings.TrimRight(ansi.ReplaceAllString(sc.Text(), ""), " \r")
		if strings.HasPrefix(line, "{") {
			var j struct {
				Level   string `json:"@level"`
				Message string `json:"@message"`
				Diag    struct {
					Detail string `json:"detail"`
				} `json:"diagnostic"`
			}
			if json.Unmarshal([]byte(line), &j) == nil && j.Level == "error" {
				out = append(out, j.Message)
				if j.Diag.Detail != "" {
					out = append(out, "  "+j.Diag.Detail)
				}
			}
			continue
		}
		t := strings.TrimSpace(strings.TrimLeft(line, "│╷╵ "))
		if strings.HasPrefix(t, "Error") {
			in = true
		}
		if in && t != "" {
			out = append(out, t)
		}
	}
	return out
}
