package exam

import (
	"context"
	"errors"
	"fmt"

	"github.com/tailab/tailab/internal/errclass"
	"github.com/tailab/tailab/internal/userfile"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/provision/static"
)

// OpenLab loads a lab — a built-in lab's name or a lab file — with its YAML
// source (what a session keeps, so the lab it ran can be reloaded).
func OpenLab(name string) (*labs.Lab, []byte, error) {
	lab, err := labs.Open(name)
	if err != nil {
		return nil, nil, errclass.Wrap(errclass.BadInput, err)
	}
	if b, err := labs.BuiltinSource(name); err == nil && lab.File == "catalog:"+name {
		return lab, b, nil
	}
	b, err := userfile.Read(name)
	if err != nil {
		return nil, nil, errclass.Wrap(errclass.Usage, err)
	}
	return lab, b, nil
}

// SessionSpec is what `up` asks of a session: its name, and when given the
// lab it runs (with its YAML source), the roster and the provider.
type SessionSpec struct {
	Name     string
	Lab      *labs.Lab // nil: the session's own
	LabYAML  []byte
	Roster   []labs.Candidate // none: the session's own
	Provider string
	// DecisionThreshold, when set, is the session's threshold for proposing
	// CCP decisions (percent, 0 < t ≤ 100), kept in the session record.
	DecisionThreshold float64
}

// UpSession returns the session `up` reconciles: the recorded one, with the
// lab file and roster given (a session keeps its lab: naming another is a
// usage error), or a new one, which needs a lab.
func UpSession(eng *provision.Engine, spec SessionSpec) (sess *provision.Session, err error) {
	if t := spec.DecisionThreshold; t < 0 || t > 100 {
		return nil, errclass.Usagef("--decision-threshold %g: a percentage above 0 and at most 100", t)
	}
	defer func() {
		if sess != nil && spec.DecisionThreshold > 0 {
			sess.DecisionThreshold = spec.DecisionThreshold
		}
	}()
	sess, err = eng.State.Session(spec.Name)
	switch {
	case errors.Is(err, provision.ErrNoSession):
		if spec.Lab == nil {
			return nil, errclass.Usagef("session %q does not exist: name a lab to create it", spec.Name)
		}
		sess, err = eng.NewSession(spec.Name, spec.Lab, spec.LabYAML, spec.Roster, spec.Provider)
		return sess, errclass.Wrap(errclass.Usage, err)
	case err != nil:
		return nil, err
	}
	if spec.Lab != nil {
		if spec.Lab.Name != sess.Lab {
			return nil, errclass.Usagef("session %q runs lab %q, not %q", sess.Name, sess.Lab, spec.Lab.Name)
		}
		sess.LabYAML, sess.LabSource = string(spec.LabYAML), spec.Lab.Source
	}
	if len(spec.Roster) > 0 {
		sess.Candidates = spec.Roster
	}
	return sess, nil
}

// UpOptions say how Up brings a planned session up.
type UpOptions struct {
	Only     []string // only these candidates (none: all)
	Force    bool     // skip the admission check (host capacity)
	Apply    provision.ApplyOptions
	NoFaults bool               // do not apply the drawn faults
	Machines provision.Observer // hears of the machines
	Log      Logf               // one line per stage (templates, faults)
}

// Up brings a planned session up: the admission check (unless Force), the
// Samba AD templates, the machines, then, once they are ready, each
// candidate's drawn faults (once per candidate: see ApplyDrawnFaults).
func Up(ctx context.Context, eng *provision.Engine, sess *provision.Session, plan *provision.Plan, o UpOptions) error {
	if !o.Force {
		if err := provision.Admit(plan); err != nil {
			return err
		}
	}
	if sess.Provider == static.Name {
		lab, err := sess.LoadLab()
		if err != nil {
			return errclass.Wrap(errclass.BadInput, err)
		}
		if !o.NoFaults && !o.Apply.NoWait && len(lab.Faults) > 0 {
			if err := ExistingRefuses(sess.Provider, lab, "faults"); err != nil {
				return err
			}
		}
	} else if err := PrepareSambaTemplates(ctx, sess, o.Only, o.Log); err != nil {
		return err
	}
	o.Apply.Force = true // admitted above
	// A drifted machine is destroyed and created again: the faults it holds
	// are read now and put back once it is ready (ApplyDrawnFaults).
	if err := RecordReplaced(ctx, eng.State, sess, plan); err != nil {
		return err
	}
	// A machine found stopped is started: its volatile faults are put back.
	if err := RecordStarted(eng.State, sess, plan); err != nil {
		return err
	}
	if err := eng.Up(ctx, plan, o.Apply, o.Machines); err != nil {
		return fmt.Errorf("bring session %s up: %w", sess.Name, err)
	}
	if o.NoFaults || o.Apply.NoWait {
		return nil
	}
	return ApplyDrawnFaults(ctx, eng.State, sess, o.Only, o.Log)
}
