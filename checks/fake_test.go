package checks

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/internal/secret"
	"github.com/tailab/tailab/internal/yamlx"
)

// fakeParams are the parameters of the test probe: it echoes Values (plus Text
// and Port) as its observation.
type fakeParams struct {
	Values map[string]any `yaml:"values"`
	Text   string         `yaml:"text"`
	Port   int            `yaml:"port"`
	// Err makes the observation fail (status error).
	Err string `yaml:"err"`
	// FailUntil returns {ok: false} for the first FailUntil attempts of the check.
	FailUntil int `yaml:"fail_until"`
	// Evidence is returned as the observation's transcript.
	Evidence string `yaml:"evidence"`
}

func (p *fakeParams) Validate(d *yamlx.Decoder, at yamlx.Pos, field string) {
	if p.Port < 0 || p.Port > 65535 {
		d.Diags.Add(at, field+".port", "must be between 0 and 65535, got %d", p.Port)
	}
	if p.Text == "invalid" {
		d.Diags.Add(at, field+".text", "must not be %q", p.Text)
	}
}

// fakeProbe counts its Run calls per machine and the attempts of each request.
type fakeProbe struct {
	typ string

	mu       sync.Mutex
	runs     map[string]int            // candidate/machine → Run calls
	batches  map[string][][]string     // candidate/machine → request ids of each Run
	attempts map[string]int            // candidate/request id → observations
	batchErr map[string]error          // machine → error returned by Run
	delay    time.Duration             // each Run sleeps this long
	active   int                       // Run calls in progress
	peak     int                       // most Run calls in progress at once
	params   map[string]map[string]any // candidate/request id → last Values seen
	panicOn  string                    // machine whose Run panics
	order    *runLog                   // when set, records every Run, across probes
}

// runLog records Run calls in the order they start: "probe candidate/machine
// number-of-requests".
type runLog struct {
	mu   sync.Mutex
	runs []string
}

func newFake(typ string) *fakeProbe {
	return &fakeProbe{
		typ: typ, runs: map[string]int{}, batches: map[string][][]string{},
		attempts: map[string]int{}, batchErr: map[string]error{}, params: map[string]map[string]any{},
	}
}

var _ probe.Probe = (*fakeProbe)(nil)

func (f *fakeProbe) Type() string            { return f.typ }
func (f *fakeProbe) NewParams() probe.Params { return &fakeParams{} }

func (f *fakeProbe) Run(ctx context.Context, t probe.Target, reqs []probe.Request) ([]probe.Observation, error) {
	key := t.Candidate + "/" + t.Machine
	f.mu.Lock()
	f.runs[key]++
	var ids []string
	for _, r := range reqs {
		ids = append(ids, r.ID)
	}
	f.batches[key] = append(f.batches[key], ids)
	if f.order != nil {
		f.order.mu.Lock()
		f.order.runs = append(f.order.runs, fmt.Sprintf("%s %s %d", f.typ, key, len(reqs)))
		f.order.mu.Unlock()
	}
	f.active++
	f.peak = max(f.peak, f.active)
	berr := f.batchErr[t.Machine]
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.active--
		f.mu.Unlock()
	}()
	if t.Machine == f.panicOn {
		panic("boom")
	}
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if berr != nil { // what the ssh probe does: its partial observations, with the error
		out := make([]probe.Observation, len(reqs))
		for i, r := range reqs {
			out[i] = probe.Observation{ID: r.ID, Evidence: r.Params.(*fakeParams).Evidence, Err: berr}
		}
		return out, berr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]probe.Observation, len(reqs))
	for i, r := range reqs {
		p := r.Params.(*fakeParams)
		f.mu.Lock()
		f.attempts[t.Candidate+"/"+r.ID]++
		n := f.attempts[t.Candidate+"/"+r.ID]
		f.mu.Unlock()
		values := map[string]any{"text": p.Text, "port": p.Port, "machine": t.Machine, "ok": true}
		for k, v := range p.Values {
			values[k] = v
		}
		if n <= p.FailUntil {
			values["ok"] = false
		}
		f.mu.Lock()
		f.params[t.Candidate+"/"+r.ID] = values
		f.mu.Unlock()
		out[i] = probe.Observation{ID: r.ID, Values: values, Evidence: p.Evidence}
		if p.Err != "" {
			out[i].Err = errors.New(p.Err)
		}
	}
	return out, nil
}

func (f *fakeProbe) runCount(cand, machine string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.runs[cand+"/"+machine]
}

// fakeClock advances only when slept on.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	slept time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.slept += d
	return nil
}

// candidate builds a candidate whose machines are reachable at 10.0.<n>.x and
// whose Masker knows the password "S3cr3t-<id>".
func candidate(id string, n int, machines ...string) Candidate {
	m := &secret.Masker{}
	m.Add("S3cr3t-" + id)
	c := Candidate{ID: id, LastName: "Nom" + id, FirstName: "Prénom", Params: map[string]any{"ou": "OU-" + id, "port": 8000 + n}, Machines: map[string]probe.Target{}}
	for i, name := range machines {
		c.Machines[name] = probe.Target{
			Candidate: id, Machine: name, Address: fmt.Sprintf("10.0.%d.%d", n, i+1), Masker: m,
			Credentials: map[string]probe.Credentials{"": {User: "admin", Password: secret.New("S3cr3t-" + id)}},
		}
	}
	return c
}

func secretValue(s string) secret.Value { return secret.New(s) }
