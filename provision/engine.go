package provision

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/tailab/tailab/internal/audit"
	"github.com/tailab/tailab/internal/secret"
	"github.com/tailab/tailab/labs"
)

// Engine runs sessions: it resolves instances, asks a provider for a plan,
// applies it and records every machine's state in the store as it changes.
type Engine struct {
	State    *State
	Provider Provider

	lockMu sync.Mutex
	held   map[string]*heldLock // session locks held (Hold, provision/lock.go)
}

// recorder stores machine states as they change. States are written in batches
// (one transaction, one fsync, every flushEvery) rather than one file open per
// state: with dozens of machines changing at once that is most of the store's cost.
type recorder struct {
	state *State
	next  Observer

	mu      sync.Mutex
	pending map[string]MachineState
	err     error
	kick    chan struct{}
	done    chan struct{}
}

const flushEvery = 100 * time.Millisecond

func newRecorder(st *State, next Observer) *recorder {
	r := &recorder{state: st, next: next, pending: map[string]MachineState{}, kick: make(chan struct{}, 1), done: make(chan struct{})}
	go r.loop()
	return r
}

func (r *recorder) Event(e Event) { r.next.Event(e) }

func (r *recorder) Machine(m MachineState) {
	r.mu.Lock()
	r.pending[m.Session+"/"+m.Key()] = m
	r.mu.Unlock()
	r.next.Machine(m)
}

func (r *recorder) loop() {
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			r.flush()
		case <-r.kick:
			r.flush()
			close(r.done)
			return
		}
	}
}

func (r *recorder) flush() {
	r.mu.Lock()
	batch := make([]MachineState, 0, len(r.pending))
	for _, m := range r.pending {
		batch = append(batch, m)
	}
	r.pending = map[string]MachineState{}
	r.mu.Unlock()
	if err := r.state.PutMachines(batch); err != nil {
		r.mu.Lock()
		r.err = errors.Join(r.err, err)
		r.mu.Unlock()
	}
}

// close writes what is pending and returns the first write error.
func (r *recorder) close() error {
	r.kick <- struct{}{}
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
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
	release, err := e.Hold(s.Name, "up")
	if err != nil {
		return err
	}
	defer release()
	if err := e.State.SaveSession(s); err != nil {
		return err
	}
	lab, err := s.LoadLab()
	if err != nil {
		return err
	}
	if opts.Secrets == nil {
		// Read (or generate) each candidate's secrets once, not once per machine.
		var mu sync.Mutex
		ids := make([]string, 0, len(plan.Instances))
		for _, in := range plan.Instances {
			ids = append(ids, in.Candidate.ID)
		}
		cache, err := e.State.SecretsFor(s.Name, lab, ids)
		if err != nil {
			return err
		}
		opts.Secrets = func(candidate string) (map[string]secret.Value, error) {
			mu.Lock()
			defer mu.Unlock()
			if v, ok := cache[candidate]; ok {
				return v, nil
			}
			v, err := e.State.Secrets(s.Name, lab, candidate)
			if err == nil {
				cache[candidate] = v
			}
			return v, err
		}
	}
	if err := e.State.Audit(s.Name, AuditEntry{Action: "up", Facts: &audit.Facts{Plan: &audit.Plan{
		Create: plan.Count(OpCreate), Keep: plan.Count(OpKeep), Replace: plan.Count(OpReplace), Remove: plan.Count(OpRemove)}}}); err != nil {
		return err
	}
	rec := newRecorder(e.State, obs)
	err = e.Provider.Apply(ctx, plan, opts, rec)
	if serr := rec.close(); serr != nil {
		err = errors.Join(err, fmt.Errorf("record machine state: %w", serr))
	}
	return err
}

// Down removes the session's resources (or the listed candidates') and forgets
// them; the session itself is forgotten when all its candidates are gone.
func (e *Engine) Down(ctx context.Context, s *Session, candidates []string, obs Observer) error {
	release, err := e.Hold(s.Name, "down")
	if err != nil {
		return err
	}
	defer release()
	if err := e.State.Audit(s.Name, AuditEntry{Action: "down", Facts: &audit.Facts{Candidates: candidates}}); err != nil {
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
