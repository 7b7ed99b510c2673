package exam

import (
	"fmt"
	"sort"
	"strings"

	"github.com/tailab/tailab/checks"
)

// Runs are the gradings `tailab verify` makes of one lab (docs/catalog.md,
// "Both-way verification"):
//
//   - Untouched: the instance with its faults applied, before any step;
//   - Incremental[k]: the same instance after steps 1..k+1 (the last one is the
//     full solution);
//   - LeftOut[k]: a fresh instance with every step but step k applied.
type Runs struct {
	Steps       []string
	Untouched   checks.CandidateReport
	Incremental []checks.CandidateReport
	LeftOut     []checks.CandidateReport
	Baseline    []string // checks allowed to pass untouched
}

// StepVerdict is one step's line of the verdict.
type StepVerdict struct {
	Step      string
	Gained    []string // checks that first pass once the step is applied (in order)
	Needs     []string // checks that fail when only this step is left out
	Surprises []string
}

// CheckVerdict is one machine check's line of the verdict.
type CheckVerdict struct {
	ID        string
	Points    float64
	Untouched checks.Status
	Full      checks.Status
	GainedAt  string   // step after which it first passed
	Needs     []string // steps whose omission makes it fail
	Surprises []string
}

// Verdict is the analysis of Runs.
type Verdict struct {
	Steps                                  []StepVerdict
	Checks                                 []CheckVerdict
	Surprises                              []string // every surprise, one line each
	Errors                                 []string // checks that could not be observed (infrastructure)
	UntouchedPoints, FullPoints, MaxPoints float64
}

// checkKey is a result's id, suite-qualified (suites graded together may share ids).
func checkKey(r checks.Result) string { return r.Suite + "/" + r.CheckID }

func statuses(c checks.CandidateReport) map[string]checks.Result {
	out := map[string]checks.Result{}
	for _, r := range c.Results {
		if r.Status != checks.StatusJury {
			out[checkKey(r)] = r
		}
	}
	return out
}

// Analyse applies the definition of an exact verification:
//
//  1. untouched, every machine check is lost (not pass), except baseline checks
//     and checks worth 0 points (guards), which must pass;
//  2. with the whole solution every machine check passes;
//  3. with gained(k) the checks that first pass after step k in the in-order run
//     and needs(k) those that fail when only step k is left out:
//     gained(k) ⊆ needs(k) (what step k brought really needs it), and every check
//     of needs(k) was gained at step k or later (a check that passed before step k
//     was applied cannot need it); needs(k) ≠ ∅ (no superfluous step);
//  4. no check that passed goes back to failing when a later step is applied;
//  5. no check is in error in any run (that is infrastructure, not the lab);
//  6. no check is "not applicable" in any run: every fault is applied, so every
//     check conditioned on a fault (`when`) must apply.
func Analyse(runs Runs) Verdict {
	a := newAnalysis(runs)
	a.observed()   // 5
	a.applicable() // 6
	for _, id := range a.order {
		a.v.Checks = append(a.v.Checks, a.check(id)) // 1, 2, 4
	}
	for k := range a.runs.Steps {
		a.v.Steps = append(a.v.Steps, a.step(k)) // 3
	}
	sort.Strings(a.v.Errors)
	return a.v
}

// analysis is Analyse under way: the runs by check key, and the verdict.
type analysis struct {
	runs      Runs
	baseline  map[string]bool
	order     []string // machine checks, in the untouched run's order
	untouched map[string]checks.Result
	inc, left []map[string]checks.Result
	gainedAt  map[string]int // step index after which a check first passed; -1: never
	v         Verdict
}

func newAnalysis(runs Runs) *analysis {
	a := &analysis{runs: runs, baseline: map[string]bool{}, untouched: statuses(runs.Untouched), gainedAt: map[string]int{}}
	for _, b := range runs.Baseline {
		a.baseline[b] = true
	}
	for _, r := range runs.Untouched.Results {
		if r.Status != checks.StatusJury {
			a.order = append(a.order, checkKey(r))
		}
	}
	for k := range runs.Steps {
		a.inc = append(a.inc, statuses(runs.Incremental[k]))
		a.left = append(a.left, statuses(runs.LeftOut[k]))
	}
	return a
}

// guard reports whether a check must pass untouched: a baseline check or one
// worth 0 points.
func (a *analysis) guard(id string) bool {
	u := a.untouched[id]
	return a.baseline[u.CheckID] || a.baseline[id] || u.MaxPoints == 0
}

func (a *analysis) surprise(format string, args ...any) {
	a.v.Surprises = append(a.v.Surprises, fmt.Sprintf(format, args...))
}

// each calls f for every run, named as the verdict names it.
func (a *analysis) each(f func(run string, rs map[string]checks.Result)) {
	f("untouched", a.untouched)
	for k, step := range a.runs.Steps {
		f("after "+step, a.inc[k])
		f("without "+step, a.left[k])
	}
}

// observed lists the checks in error in any run (rule 5).
func (a *analysis) observed() {
	a.each(func(run string, rs map[string]checks.Result) {
		for _, id := range a.order {
			if r, ok := rs[id]; ok && r.Status == checks.StatusError {
				a.v.Errors = append(a.v.Errors, fmt.Sprintf("%s: %s: %s", run, id, r.Message))
			}
		}
	})
}

// applicable reports the checks not applicable in any run (rule 6).
func (a *analysis) applicable() {
	a.each(func(run string, rs map[string]checks.Result) {
		for _, id := range a.order {
			if r, ok := rs[id]; ok && r.Status == checks.StatusNA {
				a.surprise("check %s: not applicable %s although every fault was applied (%s)", id, run, r.Message)
			}
		}
	})
}

// check is one check's line: untouched and full verdicts (rules 1, 2), the
// step it was gained at and never lost after (rule 4), the steps it needs.
func (a *analysis) check(id string) CheckVerdict {
	u := a.untouched[id]
	c := CheckVerdict{ID: id, Points: u.MaxPoints, Untouched: u.Status, GainedAt: "-"}
	a.v.MaxPoints += u.MaxPoints
	a.v.UntouchedPoints += u.Points
	guard := a.guard(id)
	switch {
	case guard && u.Status != checks.StatusPass:
		c.Surprises = append(c.Surprises, "baseline check lost on the untouched lab")
	case !guard && u.Status == checks.StatusPass:
		c.Surprises = append(c.Surprises, "passes on the untouched lab")
	}
	prev := u.Status == checks.StatusPass
	a.gainedAt[id] = -1
	for k, step := range a.runs.Steps {
		now := a.inc[k][id].Status == checks.StatusPass
		if now && !prev && a.gainedAt[id] < 0 {
			a.gainedAt[id] = k
			c.GainedAt = step
		}
		if prev && !now {
			c.Surprises = append(c.Surprises, fmt.Sprintf("fails again after step %s", step))
		}
		prev = now
	}
	if n := len(a.runs.Steps); n > 0 {
		full := a.inc[n-1][id]
		c.Full = full.Status
		a.v.FullPoints += full.Points
		if full.Status != checks.StatusPass {
			c.Surprises = append(c.Surprises, "not passed with the whole solution")
		}
	}
	for k, step := range a.runs.Steps {
		if a.left[k][id].Status != checks.StatusPass {
			c.Needs = append(c.Needs, step)
		}
	}
	if guard && len(c.Needs) > 0 {
		c.Surprises = append(c.Surprises, "baseline check lost when a step is left out: "+strings.Join(c.Needs, ", "))
	}
	for _, s := range c.Surprises {
		a.surprise("check %s: %s", id, s)
	}
	return c
}

// step is step k's line: what it brought in order, what fails without it,
// and whether the two agree (rule 3). The checks' lines come first (gainedAt).
func (a *analysis) step(k int) StepVerdict {
	st := StepVerdict{Step: a.runs.Steps[k]}
	for _, id := range a.order {
		if a.gainedAt[id] == k {
			st.Gained = append(st.Gained, id)
		}
		if a.left[k][id].Status != checks.StatusPass && !a.guard(id) {
			st.Needs = append(st.Needs, id)
		}
	}
	needs := map[string]bool{}
	for _, id := range st.Needs {
		needs[id] = true
		if g := a.gainedAt[id]; g >= 0 && g < k {
			st.Surprises = append(st.Surprises, fmt.Sprintf("%s fails without it but passed before it was applied", id))
		}
	}
	for _, id := range st.Gained {
		if !needs[id] {
			st.Surprises = append(st.Surprises, fmt.Sprintf("%s first passed after it, yet passes without it", id))
		}
	}
	if len(st.Needs) == 0 {
		st.Surprises = append(st.Surprises, "no check needs this step (superfluous, or its checks are missing)")
	}
	for _, s := range st.Surprises {
		a.surprise("step %s: %s", st.Step, s)
	}
	return st
}
