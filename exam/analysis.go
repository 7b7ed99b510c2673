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
	var v Verdict
	baseline := map[string]bool{}
	for _, b := range runs.Baseline {
		baseline[b] = true
	}
	isBaseline := func(r checks.Result) bool { return baseline[r.CheckID] || baseline[checkKey(r)] }
	var order []string
	untouched := statuses(runs.Untouched)
	for _, r := range runs.Untouched.Results {
		if r.Status != checks.StatusJury {
			order = append(order, checkKey(r))
		}
	}
	n := len(runs.Steps)
	inc := make([]map[string]checks.Result, n)
	left := make([]map[string]checks.Result, n)
	for k := 0; k < n; k++ {
		inc[k] = statuses(runs.Incremental[k])
		left[k] = statuses(runs.LeftOut[k])
	}
	surprise := func(format string, args ...any) { v.Surprises = append(v.Surprises, fmt.Sprintf(format, args...)) }
	errorIn := func(run string, rs map[string]checks.Result) {
		for _, id := range order {
			if r, ok := rs[id]; ok && r.Status == checks.StatusError {
				v.Errors = append(v.Errors, fmt.Sprintf("%s: %s: %s", run, id, r.Message))
			}
		}
	}
	errorIn("untouched", untouched)
	for k := 0; k < n; k++ {
		errorIn("after "+runs.Steps[k], inc[k])
		errorIn("without "+runs.Steps[k], left[k])
	}
	notApplicable := func(run string, rs map[string]checks.Result) {
		for _, id := range order {
			if r, ok := rs[id]; ok && r.Status == checks.StatusNA {
				surprise("check %s: not applicable %s although every fault was applied (%s)", id, run, r.Message)
			}
		}
	}
	notApplicable("untouched", untouched)
	for k := 0; k < n; k++ {
		notApplicable("after "+runs.Steps[k], inc[k])
		notApplicable("without "+runs.Steps[k], left[k])
	}
	gainedAt := map[string]int{}
	for _, id := range order {
		u := untouched[id]
		c := CheckVerdict{ID: id, Points: u.MaxPoints, Untouched: u.Status, GainedAt: "-"}
		v.MaxPoints += u.MaxPoints
		v.UntouchedPoints += u.Points
		guard := isBaseline(u) || u.MaxPoints == 0
		switch {
		case guard && u.Status != checks.StatusPass:
			c.Surprises = append(c.Surprises, "baseline check lost on the untouched lab")
		case !guard && u.Status == checks.StatusPass:
			c.Surprises = append(c.Surprises, "passes on the untouched lab")
		}
		prev := u.Status == checks.StatusPass
		gainedAt[id] = -1
		for k := 0; k < n; k++ {
			now := inc[k][id].Status == checks.StatusPass
			if now && !prev && gainedAt[id] < 0 {
				gainedAt[id] = k
				c.GainedAt = runs.Steps[k]
			}
			if prev && !now {
				c.Surprises = append(c.Surprises, fmt.Sprintf("fails again after step %s", runs.Steps[k]))
			}
			prev = now
		}
		if n > 0 {
			full := inc[n-1][id]
			c.Full = full.Status
			v.FullPoints += full.Points
			if full.Status != checks.StatusPass {
				c.Surprises = append(c.Surprises, "not passed with the whole solution")
			}
		}
		for k := 0; k < n; k++ {
			if left[k][id].Status != checks.StatusPass {
				c.Needs = append(c.Needs, runs.Steps[k])
			}
		}
		if guard && len(c.Needs) > 0 {
			c.Surprises = append(c.Surprises, "baseline check lost when a step is left out: "+strings.Join(c.Needs, ", "))
		}
		for _, s := range c.Surprises {
			surprise("check %s: %s", id, s)
		}
		v.Checks = append(v.Checks, c)
	}
	for k := 0; k < n; k++ {
		st := StepVerdict{Step: runs.Steps[k]}
		for _, id := range order {
			if gainedAt[id] == k {
				st.Gained = append(st.Gained, id)
			}
			if left[k][id].Status != checks.StatusPass && !(isBaseline(untouched[id]) || untouched[id].MaxPoints == 0) {
				st.Needs = append(st.Needs, id)
			}
		}
		needs := map[string]bool{}
		for _, id := range st.Needs {
			needs[id] = true
			if g := gainedAt[id]; g >= 0 && g < k {
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
			surprise("step %s: %s", st.Step, s)
		}
		v.Steps = append(v.Steps, st)
	}
	sort.Strings(v.Errors)
	return v
}
