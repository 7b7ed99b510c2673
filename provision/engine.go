package provision

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/tailab/tailab/internal/secret"
	"github.com/tailab/tailab/labs"
)

// Engine runs sessions: it resolves instances, asks a provider for a plan,
// applies it and records every machine's state in the store as it changes.
type Engine struct {
	State    *State
	Provider Provider
}

// recorder stores machine states before passing them on.
type recorder struct {
	state *State
	next  Observer
	errs  chan error
}

func (r *recorder) Event(e Event) { r.next.Event(e) }

func (r *recorder) Machine(m MachineState) {
	if err := r.state.PutMachine(m); err != nil {
		select {
		case r.errs <- err:
		default:
		}
	}
	r.next.Machine(m)
}

// NewSession builds a session from a lab and its candidates, choosing a free
// management network. It is not saved until Up.
func (e *Engine) NewSession(name string, lab *labs.Lab, labYAML []byte, candidates []labs.Candidate, provider string) (*Session, error) {
	if err := ValidateName("session name", name); err != nil {
		return nil, err
	}
	if len(candidates) == 0 {
		return nil, errors.New("a session needs candidates (--candidates roster.csv or --count N)")
	}
	cidr, err := e.freeMgmtCIDR()
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	return &Session{Name: name, Lab: lab.Name, LabSource: lab.Source, LabYAML: string(labYAML), Provider: provider,
		CreatedAt: now, StartedAt: now, MgmtCIDR: cidr, Candidates: candidates}, nil
}

// freeMgmtCIDR picks the first /16 of 10.250.0.0 down to 10.200.0.0 that no
// other session uses.
func (e *Engine) freeMgmtCIDR() (string, error) {
	sessions, err := e.State.Sessions()
	if err != nil {
		return "", err
	}
	used := map[string]bool{}
	for _, s := range sessions {
		used[s.MgmtCIDR] = true
	}
	for b := 250; b >= 200; b-- {
		c := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(b), 0, 0}), 16).String()
		if !used[c] {
			return c, nil
		}
	}
	return "", errors.New("no free management network left (51 sessions exist: remove some with `tailab down`)")
}

// Plan resolves the session's instances (or only the listed candidates') and asks
// the provider what it would do.
func (e *Engine) Plan(ctx context.Context, s *Session, candidates []string) (*Plan, error) {
	ins, err := s.Instances(candidates...)
	if err != nil {
		return nil, err
	}
	return e.Provider.Plan(ctx, s, ins)
}

// Up saves the session, then applies the plan, recording machine states.
func (e *Engine) Up(ctx context.Context, plan *Plan, opts ApplyOptions, obs Observer) error {
	s := plan.Session
	if err := e.State.SaveSession(s); err != nil {
		return err
	}
	lab, err := s.LoadLab()
	if err != nil {
		return err
	}
	if opts.Secrets == nil {
		opts.Secrets = func(candidate string) (map[string]secret.Value, error) {
			return e.State.Secrets(s.Name, lab, candidate)
		}
	}
	if err := e.State.Audit(s.Name, AuditEntry{Action: "up", Detail: plan.Summary()}); err != nil {
		return err
	}
	rec := &recorder{state: e.State, next: obs, errs: make(chan error, 1)}
	err = e.Provider.Apply(ctx, plan, opts, rec)
	select {
	case serr := <-rec.errs:
		err = errors.Join(err, fmt.Errorf("record machine state: %w", serr))
	default:
	}
	return err
}

// Down removes the session's resources (or the listed candidates') and forgets
// them; the session itself is forgotten when all its candidates are gone.
func (e *Engine) Down(ctx context.Context, s *Session, candidates []string, obs Observer) error {
	if err := e.State.Audit(s.Name, AuditEntry{Action: "down", Detail: fmt.Sprint(candidates)}); err != nil {
		return err
	}
	if err := e.Provider.Destroy(ctx, s, candidates, obs); err != nil {
		return err
	}
	if len(candidates) == 0 {
		return e.State.DeleteSession(s.Name)
	}
	for _, c := range candidates {
		if err := e.State.DeleteMachines(s.Name, c); err != nil {
			return err
		}
	}
	return nil
}
