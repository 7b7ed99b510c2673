package terraform

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strconv"
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
	for attempt := 1; ; attempt++ {
		err := p.call(ctx, fmt.Sprintf("%s in workspace %q", verb, ws.Name), func(ctx context.Context) error {
			r, err = c.Runs.Create(ctx, opts)
			return err
		})
		if err == nil {
			break
		}
		// No answer: the run may exist. The workspace's current run says
		// (a run of this configuration version, or a destroy run queued now).
		if !lostAnswer(err) {
			return nil, err
		}
		r = nil
		rerr := p.read(ctx, fmt.Sprintf("read workspace %q", ws.Name), func(ctx context.Context) error {
			w, rerr := c.Workspaces.ReadByID(ctx, ws.ID)
			if rerr == nil && w.CurrentRun != nil {
				r, rerr = c.Runs.Read(ctx, w.CurrentRun.ID)
			}
			return rerr
		})
		if rerr == nil && r != nil && r.ID != ws.runID() && sameRun(r, cv, destroy) {
			break // the server queued it before the connection broke
		}
		// Read back, no such run: the server never took the request (it
		// reset the connection while restarting); queue it again, a bounded
		// number of times, never twice the same run.
		if rerr != nil || attempt == 3 {
			return nil, err
		}
	}
	ws.Run = r
	p.event(ws, "run "+r.ID+" queued", nil, 0)
	return r, nil
}

// sameRun reports whether r is the run queueRun asked for: a destroy run,
// or a run of configuration version cv.
func sameRun(r *tfe.Run, cv *tfe.ConfigurationVersion, destroy bool) bool {
	if destroy || cv == nil {
		return r.IsDestroy == destroy
	}
	return !r.IsDestroy && r.ConfigurationVersion != nil && r.ConfigurationVersion.ID == cv.ID
}

func (p *Provider) event(ws *workspace, what string, err error, elapsed time.Duration) {
	if p.obs == nil {
		return
	}
	p.obs.Event(provision.Event{Time: time.Now(), Candidate: ws.Candidate, Resource: ws.Name, What: what, Err: err, Elapsed: elapsed})
}

// follow polls a run until it ends, reporting each status and the plan's and
// apply's resource counts, and confirms it when it waits for confirmation
// (workspaces without auto-apply) if confirm is set. A failed run's error
// carries the relevant lines of its plan or apply log. A run whose status has
// not changed for StuckAfter (its worker died, say) is reported stuck.
func (p *Provider) follow(ctx context.Context, ws *workspace, r *tfe.Run, confirm bool) (*tfe.Run, error) {
	c, err := p.tfeClient()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.RunTimeout)
	defer cancel()
	start, since := time.Now(), time.Now()
	unreachable := p.unreachable.Load()
	var last tfe.RunStatus
	planShown, applyShown, confirmed := false, false, false
	for {
		if r.Status != last {
			p.event(ws, fmt.Sprintf("run %s: %s", r.ID, r.Status), nil, 0)
			last, since = r.Status, time.Now()
			if !planShown || runDone(r) && !applyShown {
				p.phases(ctx, r, !planShown && planDone(r.Status), runDone(r))
			}
		}
		if r.Plan != nil && !planShown && r.Plan.Status == tfe.PlanFinished {
			planShown = true
			p.countsFromLog(ctx, r, false)
			p.event(ws, fmt.Sprintf("plan: %d to add, %d to change, %d to destroy", r.Plan.ResourceAdditions, r.Plan.ResourceChanges, r.Plan.ResourceDestructions), nil, 0)
		}
		if r.Apply != nil && !applyShown && r.Apply.Status == tfe.ApplyFinished {
			applyShown = true
			p.countsFromLog(ctx, r, true)
			p.event(ws, fmt.Sprintf("apply: %d added, %d changed, %d destroyed", r.Apply.ResourceAdditions, r.Apply.ResourceChanges, r.Apply.ResourceDestructions), nil, time.Since(start))
		}
		confirmable := r.Actions != nil && r.Actions.IsConfirmable && !r.AutoApply
		switch {
		case runSucceeded[r.Status]:
			return r, nil
		case runFailed[r.Status]:
			return r, p.runError(ctx, ws, r, p.unreachable.Load() > unreachable)
		case confirmable && confirm && !confirmed:
			if err := p.call(ctx, fmt.Sprintf("confirm run %s of workspace %q", r.ID, ws.Name), func(ctx context.Context) error {
				return c.Runs.Apply(ctx, r.ID, tfe.RunApplyOptions{Comment: tfe.String("confirmed by tailab")})
			}); err != nil {
				return r, err
			}
			confirmed = true
			p.event(ws, "run "+r.ID+" confirmed", nil, 0)
		case !confirmable && time.Since(since) > p.cfg.StuckAfter:
			return r, &StuckError{Run: r.ID, Workspace: ws.Name, Status: r.Status, For: time.Since(since)}
		}
		if err := sleep(ctx, p.cfg.PollInterval); err != nil {
			return r, p.explain(fmt.Sprintf("wait for run %s of workspace %q (last status %s)", r.ID, ws.Name, r.Status), 0, err)
		}
		var nr *tfe.Run
		if err := p.read(ctx, fmt.Sprintf("read run %s of workspace %q", r.ID, ws.Name), func(ctx context.Context) error {
			nr, err = c.Runs.ReadWithOptions(ctx, r.ID, &tfe.RunReadOptions{Include: []tfe.RunIncludeOpt{tfe.RunPlan, tfe.RunApply}})
			return err
		}); err != nil {
			return r, err
		}
		r = nr
		ws.Run = r
	}
}

// StuckError is a run whose status has not changed for too long.
type StuckError struct {
	Run, Workspace string
	Status         tfe.RunStatus
	For            time.Duration
}

func (e *StuckError) Error() string {
	return fmt.Sprintf("run %s of workspace %q has been %s for %s with no progress: its worker may have died "+
		"(run `tailab up --force-cancel` to cancel it and queue a new run, or `tailab down` to cancel it and remove the lab)",
		e.Run, e.Workspace, e.Status, e.For.Round(time.Second))
}

// planDone reports whether a run with status st is past its plan.
func planDone(st tfe.RunStatus) bool {
	switch st {
	case tfe.RunPending, tfe.RunPlanQueued, tfe.RunPlanning, tfe.RunFetching, tfe.RunFetchingCompleted, tfe.RunQueuing, "pre_plan_running", "pre_plan_completed":
		return false
	}
	return true
}

// phases reads a run's plan (when plan) and apply (when apply) if the run
// came without them (a server that ignores include, as OTF: ids only).
// Failures are ignored: the counts and logs are for the user.
func (p *Provider) phases(ctx context.Context, r *tfe.Run, plan, apply bool) {
	c, err := p.tfeClient()
	if err != nil {
		return
	}
	if plan && r.Plan != nil && r.Plan.ID != "" && r.Plan.Status == "" {
		_ = p.read(ctx, "read plan "+r.Plan.ID, func(ctx context.Context) error {
			pl, err := c.Plans.Read(ctx, r.Plan.ID)
			if err == nil {
				r.Plan = pl
			}
			return err
		})
	}
	if apply && r.Apply != nil && r.Apply.ID != "" && r.Apply.Status == "" {
		_ = p.read(ctx, "read apply "+r.Apply.ID, func(ctx context.Context) error {
			ap, err := c.Applies.Read(ctx, r.Apply.ID)
			if err == nil {
				r.Apply = ap
			}
			return err
		})
	}
}

// Resource counts as Terraform prints them, for servers whose plans and
// applies carry none (OTF never serialises them: always 0).
var (
	planCounts  = regexp.MustCompile(`Plan: (\d+) to add, (\d+) to change, (\d+) to destroy`)
	applyCounts = regexp.MustCompile(`(?:Apply|Destroy) complete! Resources: (?:(\d+) added, (\d+) changed, )?(\d+) destroyed`)
)

// countsFromLog fills a finished plan's (or apply's) resource counts from
// its log when the server gave none although there are changes (an apply
// always follows a plan with changes). Failures are ignored: the counts are
// for the user.
func (p *Provider) countsFromLog(ctx context.Context, r *tfe.Run, apply bool) {
	pl, ap := r.Plan, r.Apply
	switch {
	case !apply && (pl == nil || !pl.HasChanges || pl.ResourceAdditions+pl.ResourceChanges+pl.ResourceDestructions != 0):
		return // nothing to count, or counted by the server
	case apply && (ap == nil || ap.ResourceAdditions+ap.ResourceChanges+ap.ResourceDestructions != 0):
		return // counted (an apply follows a plan with changes)
	}
	c, err := p.tfeClient()
	if err != nil {
		return
	}
	lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var logs io.Reader
	if apply {
		logs, err = c.Applies.Logs(lctx, ap.ID)
	} else {
		logs, err = c.Plans.Logs(lctx, pl.ID)
	}
	if err != nil {
		return
	}
	re, into := planCounts, [3]*int{&pl.ResourceAdditions, &pl.ResourceChanges, &pl.ResourceDestructions}
	if apply {
		re, into = applyCounts, [3]*int{&ap.ResourceAdditions, &ap.ResourceChanges, &ap.ResourceDestructions}
	}
	if n, ok := logCounts(io.LimitReader(logs, 4<<20), re); ok {
		for i := range n {
			*into[i] = n[i]
		}
	}
}

// logCounts finds the last line of a log re matches (ANSI colours removed)
// and returns its three counts (a missing one is 0).
func logCounts(r io.Reader, re *regexp.Regexp) ([3]int, bool) {
	var n [3]int
	found := false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		m := re.FindStringSubmatch(ansi.ReplaceAllString(sc.Text(), ""))
		if m == nil {
			continue
		}
		found = true
		for i := range n {
			n[i], _ = strconv.Atoi(m[i+1])
		}
	}
	return n, found
}

// applyStarted reports whether a run got to its apply (and may have created
// objects its state does not record, when it was stopped there).
func applyStarted(r *tfe.Run) bool {
	if r == nil || r.Apply == nil {
		return false
	}
	switch r.Apply.Status {
	case tfe.ApplyRunning, tfe.ApplyErrored, tfe.ApplyCanceled, tfe.ApplyUnreachable, tfe.ApplyFinished:
		return true
	}
	return false
}

// runError is a failed run's error with the failed phase's own log lines.
func (p *Provider) runError(ctx context.Context, ws *workspace, r *tfe.Run, unreachable bool) error {
	msg := fmt.Sprintf("run %s of workspace %q %s", r.ID, ws.Name, r.Status)
	if r.Status != tfe.RunErrored {
		why := "by someone, a policy or a server shutdown: see the run on the server"
		if unreachable {
			why = "while the server could not be reached: it restarted, and a restart cancels the runs in progress"
		}
		return fmt.Errorf("%s (%s; `tailab up` queues a new run)", msg, why)
	}
	p.phases(ctx, r, true, true)
	c, err := p.tfeClient()
	if err != nil {
		return err
	}
	lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var logs io.Reader
	phase := "plan"
	switch {
	case r.Apply != nil && r.Apply.ID != "" && (r.Apply.Status == tfe.ApplyErrored || r.Plan == nil || r.Plan.Status == tfe.PlanFinished):
		phase = "apply"
		logs, err = c.Applies.Logs(lctx, r.Apply.ID)
	case r.Plan != nil && r.Plan.ID != "":
		logs, err = c.Plans.Logs(lctx, r.Plan.ID)
	default:
		return fmt.Errorf("%s", msg)
	}
	if err != nil {
		return fmt.Errorf("%s (its %s log could not be read: %v)", msg, phase, scrub(err, p.cfg.Token))
	}
	lines := relevantLines(io.LimitReader(logs, 1<<20), 20)
	if len(lines) == 0 {
		return fmt.Errorf("%s during %s (the log shows no error line)", msg, phase)
	}
	hint := ""
	if phase == "apply" && strings.Contains(strings.Join(lines, " "), "already exists") {
		hint = "\n    (objects a stopped run left on the KVM host, outside the workspace's state: " +
			"`tailab up` removes them first when it can reach the host (TAILAB_TF_SWEEP), else remove them by hand)"
	}
	return fmt.Errorf("%s during %s:\n    %s%s", msg, phase, strings.Join(lines, "\n    "), hint)
}

var (
	ansi = regexp.MustCompile(`\x1b\[[0-9;]*[a-zA-Z]`)
	// otfStepError is the line OTF's runner ends a failed phase's log with
	// ("Error: exit status 1: ...", "Error: executing plan: exit status 1: ...").
	otfStepError = regexp.MustCompile(`^Error: (?:[a-z ]+: )?exit status \d+: `)
	// progressLine is Terraform's per-resource progress ("x.y: Refreshing state... [id=...]").
	progressLine = regexp.MustCompile(`^[\w.\[\]"-]+: (?:Refreshing state|Reading|Read complete|Creating|Creation complete|Still creating|Modifying|Modifications complete|Still modifying|Destroying|Destruction complete|Still destroying)\b`)
)

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
		if in && (otfStepError.MatchString(t) || progressLine.MatchString(t)) {
			// OTF's runner repeats Terraform's stderr on one line: already
			// shown; progress lines of other resources interleave with the
			// error block (stdout and stderr share the log).
			continue
		}
		if strings.HasPrefix(t, "Error") {
			in = true
		}
		if in && t != "" {
			out = append(out, t)
		}
	}
	return out
}
