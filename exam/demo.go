package exam

import (
	"context"
	"errors"
	"fmt"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/internal/errclass"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/results"
)

// DemoRoster is the demo's candidates: the first gets the whole reference
// solution, the second half of it, the third nothing.
var DemoRoster = []labs.Candidate{
	{ID: "c01", LastName: "Martin", FirstName: "Léa", Index: 1},
	{ID: "c02", LastName: "Bernard", FirstName: "Hugo", Index: 2},
	{ID: "c03", LastName: "Petit", FirstName: "Chloé", Index: 3},
}

// DemoOptions run the whole story on a built-in lab: a 3-candidate session
// up (a previous one of the same name removed first), each candidate's faults
// applied, the reference solution applied fully, half and not at all, the
// session graded and the grading stored.
type DemoOptions struct {
	Lab      string // a built-in lab with a reference solution
	Session  string
	Parallel int // machines created at once
	Engine   *provision.Engine
	Results  *results.Store
	Machines provision.Observer // hears of the machines (down, up)
	Log      Logf               // one line per stage
}

// Validate checks the options.
func (o *DemoOptions) Validate() error {
	switch {
	case o.Lab == "" || o.Session == "":
		return errclass.Usagef("the demo needs a lab and a session name")
	case o.Parallel < 1:
		return errclass.Usagef("--parallel must be positive")
	case o.Engine == nil || o.Results == nil:
		return errors.New("demo: no engine or results store")
	}
	return nil
}

// Run carries out the demo and returns the session and its grading.
func (o *DemoOptions) Run(ctx context.Context) (*provision.Session, *checks.Report, error) {
	if err := o.Validate(); err != nil {
		return nil, nil, err
	}
	lab, err := labs.LoadBuiltin(o.Lab)
	if err != nil {
		return nil, nil, errclass.Wrap(errclass.Usage, err)
	}
	if lab.Solution == nil || len(lab.Solution.Steps) == 0 {
		return nil, nil, errclass.Usagef("lab %s has no reference solution to demonstrate", o.Lab)
	}
	if o.Machines == nil {
		o.Machines = silent{}
	}
	labYAML, err := labs.BuiltinSource(o.Lab)
	if err != nil {
		return nil, nil, errclass.Wrap(errclass.Usage, err)
	}
	sess, err := o.up(ctx, lab, labYAML)
	if err != nil {
		return nil, nil, err
	}
	if err := o.solve(ctx, sess, lab); err != nil {
		return nil, nil, err
	}
	suites, err := LoadSuites(BuiltinChecks(lab), Probes())
	if err != nil {
		return nil, nil, err
	}
	g := &Grader{State: o.Engine.State, Results: o.Results, Session: sess, Lab: lab, Suites: suites}
	rep, err := g.Round(ctx)
	if err != nil {
		return nil, nil, err
	}
	o.Log.printf("graded")
	return sess, rep, nil
}

// up removes the previous demo session and brings the new one up with its
// faults applied.
func (o *DemoOptions) up(ctx context.Context, lab *labs.Lab, labYAML []byte) (*provision.Session, error) {
	eng := o.Engine
	if old, err := eng.State.Session(o.Session); err == nil {
		o.Log.printf("removing the previous %s session", o.Session)
		if err := eng.Down(ctx, old, nil, o.Machines); err != nil {
			return nil, fmt.Errorf("remove the previous %s session: %w", o.Session, err)
		}
	} else if !errors.Is(err, provision.ErrNoSession) {
		return nil, err
	}
	sess, err := eng.NewSession(o.Session, lab, labYAML, DemoRoster, "libvirt")
	if err != nil {
		return nil, errclass.Wrap(errclass.Usage, err)
	}
	plan, err := eng.Plan(ctx, sess, nil)
	if err != nil {
		return nil, fmt.Errorf("plan session %s: %w", sess.Name, err)
	}
	o.Log.printf("up: lab %s, %d candidates, %s", lab.Name, len(DemoRoster), plan.Summary())
	if err := Up(ctx, eng, sess, plan, UpOptions{Apply: provision.ApplyOptions{Parallel: o.Parallel}, Machines: o.Machines}); err != nil {
		return nil, err
	}
	o.Log.printf("every machine is ready; each candidate's faults are applied")
	return sess, nil
}

// solve applies the reference solution's steps for the candidate's drawn
// faults: all of them for the first candidate, half for the second, none
// for the third.
func (o *DemoOptions) solve(ctx context.Context, sess *provision.Session, lab *labs.Lab) error {
	ins, err := Instances(o.Engine.State, sess, lab, nil, nil)
	if err != nil {
		return err
	}
	for i, in := range ins {
		sc := in.Scenario
		steps := sc.StepsFor(sc.Drawn)
		switch i {
		case 1:
			steps = steps[:len(steps)/2]
		case 2:
			steps = nil
		}
		if _, err := in.Steps.ApplySteps(ctx, steps); err != nil {
			return fmt.Errorf("candidate %s: %w", in.Candidate.ID, err)
		}
		c := DemoRoster[i]
		o.Log.printf("%s (%s %s): %d of the reference solution's steps applied", c.ID, c.FirstName, c.LastName, len(steps))
	}
	return nil
}
