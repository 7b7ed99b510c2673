package exam

import (
	"strings"
	"testing"

	"github.com/tailab/tailab/checks"
)

// vrep builds a candidate report from "id=status" pairs (points: 1 each; ids
// starting with "g" are worth 0: guards).
func vrep(pairs ...string) checks.CandidateReport {
	var c checks.CandidateReport
	for _, p := range pairs {
		id, st, _ := strings.Cut(p, "=")
		maxPts := 1.0
		if strings.HasPrefix(id, "g") {
			maxPts = 0
		}
		r := checks.Result{Suite: "s", CheckID: id, Status: checks.Status(st), MaxPoints: maxPts}
		if r.Status == checks.StatusPass {
			r.Points = maxPts
		}
		c.Results = append(c.Results, r)
	}
	c.Results = append(c.Results, checks.Result{Suite: "s", CheckID: "jury", Status: checks.StatusJury, MaxPoints: 2})
	return c
}

func TestAnalyse(t *testing.T) {
	tests := []struct {
		name      string
		runs      Runs
		surprises []string
		needs     map[string]string // step → checks needing it
	}{
		{
			name: "exact, with a conjunctive dependency and a guard",
			runs: Runs{
				Steps:       []string{"user", "group"},
				Untouched:   vrep("g0=pass", "a=fail", "b=skip"),
				Incremental: []checks.CandidateReport{vrep("g0=pass", "a=pass", "b=fail"), vrep("g0=pass", "a=pass", "b=pass")},
				LeftOut:     []checks.CandidateReport{vrep("g0=pass", "a=fail", "b=fail"), vrep("g0=pass", "a=pass", "b=fail")},
			},
			needs: map[string]string{"user": "a, b", "group": "b"},
		},
		{
			name: "every kind of surprise",
			runs: Runs{
				Steps:     []string{"one", "two", "three"},
				Untouched: vrep("a=pass", "b=fail", "c=fail", "d=fail"),
				Incremental: []checks.CandidateReport{
					vrep("a=pass", "b=pass", "c=fail", "d=fail"),
					vrep("a=pass", "b=fail", "c=pass", "d=fail"),
					vrep("a=pass", "b=pass", "c=pass", "d=fail"),
				},
				LeftOut: []checks.CandidateReport{
					vrep("a=pass", "b=fail", "c=fail", "d=fail"),
					vrep("a=pass", "b=pass", "c=pass", "d=fail"),
					vrep("a=pass", "b=error", "c=pass", "d=fail"),
				},
			},
			surprises: []string{
				"check s/a: passes on the untouched lab",
				"check s/b: fails again after step two",
				"check s/d: not passed with the whole solution",
				"step two: s/c first passed after it, yet passes without it",
				"step three: s/b fails without it but passed before it was applied",
			},
		},
		{
			// verify applies every fault: a check conditioned on a fault that
			// comes out "not applicable" means the conditions are wrong.
			name: "a check not applicable with every fault applied",
			runs: Runs{
				Steps:       []string{"fix"},
				Untouched:   vrep("a=fail", "b=na"),
				Incremental: []checks.CandidateReport{vrep("a=pass", "b=na")},
				LeftOut:     []checks.CandidateReport{vrep("a=fail", "b=na")},
			},
			surprises: []string{
				"check s/b: not applicable untouched although every fault was applied",
				"check s/b: not applicable after fix although every fault was applied",
				"check s/b: not applicable without fix although every fault was applied",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Analyse(tt.runs)
			got := strings.Join(v.Surprises, "\n")
			for _, want := range tt.surprises {
				if !strings.Contains(got, want) {
					t.Errorf("missing surprise %q in:\n%s", want, got)
				}
			}
			if len(tt.surprises) == 0 && len(v.Surprises) > 0 {
				t.Errorf("unexpected surprises:\n%s", got)
			}
			for _, s := range v.Steps {
				if want, ok := tt.needs[s.Step]; ok && orDash(shortIDs(s.Needs, v.Checks)) != want {
					t.Errorf("step %s needs %v, want %s", s.Step, s.Needs, want)
				}
			}
			var b strings.Builder
			if err := v.Print(&b); err != nil {
				t.Fatal(err)
			}
			if len(tt.surprises) == 0 && !strings.Contains(b.String(), "Verified both ways: no surprise.") {
				t.Errorf("table:\n%s", b.String())
			}
		})
	}
	v := Analyse(Runs{Steps: []string{"x"}, Untouched: vrep("a=error"),
		Incremental: []checks.CandidateReport{vrep("a=pass")}, LeftOut: []checks.CandidateReport{vrep("a=fail")}})
	if len(v.Errors) != 1 {
		t.Errorf("errors: %v", v.Errors)
	}
}
