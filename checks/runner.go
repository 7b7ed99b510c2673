package checks

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/checks/referential"
	"github.com/tailab/tailab/internal/secret"
	"github.com/tailab/tailab/internal/yamlx"
)

// Candidate is one candidate of the session as the grader reaches their lab.
type Candidate struct {
	ID        string
	LastName  string
	FirstName string
	// Index is the candidate's number in the roster (1-based; 0 unknown):
	// reports list candidates in that order, as the jury's list does.
	Index int
	// Params are the candidate's resolved lab parameters, for templates ({{ .Params.x }}).
	Params map[string]any
	// Machines is the candidate's inventory: machine name → how to reach it.
	Machines map[string]probe.Target
	// Faults are the incidents drawn for the candidate (labs.Lab.FaultsFor, as
	// `up` applied and recorded them), in lab order: a check with `when`
	// applies only when it names one of them.
	Faults []Fault
	// FaultsKnown says Faults is what was applied. When false (a lab without
	// faults, a session whose faults were never recorded) every `when` holds:
	// every check applies.
	FaultsKnown bool
}

// Session describes the grading context.
type Session struct {
	ID  string
	Lab string
	// StartedAt is the exam start: templates get it as {{ .Session.StartedAt }}.
	StartedAt time.Time
}

// Clock is the runner's time source; tests replace it to make retries instant
// and timings reproducible.
type Clock interface {
	Now() time.Time
	// Sleep waits for d or until ctx is done (then it returns ctx.Err()).
	Sleep(ctx context.Context, d time.Duration) error
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns the current time.
func (SystemClock) Now() time.Time { return time.Now() }

// Sleep waits for d or until ctx is done.
func (SystemClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// DefaultTimeout applies to checks without `timeout` when the runner sets none.
const DefaultTimeout = 30 * time.Second

// DefaultConcurrency is how many batches (one machine, one probe: one
// connection) are observed at once: 4 per core of this host, at least 8.
//
// A batch mostly waits on its machine, so the grader's own cost of many at once
// is small (48 candidates' 9,600 checks grade in about 65 MiB and 2 s of CPU).
// What bounds a grading is the machines' CPU: a local lab's machines run on this
// host's cores, and each batch costs its machine an SSH session, a bind, a
// script. Measured on 2 cores (docs/benchmarks-grader.md), 8 and 32 batches at
// once grade 12 and 48 candidates in the same wall time, and 32 costs the
// lab's sshd 1.7 times the CPU; a host with more cores runs more at once.
var DefaultConcurrency = max(8, 4*runtime.NumCPU())

// Runner grades candidates' labs against suites.
//
// For each candidate it groups the checks by vantage machine and probe type and
// calls Probe.Run once per group with all their requests (one connection per
// machine per protocol); groups run concurrently, at most Concurrency at a time,
// the groups with the most checks of the whole session first (the short ones
// fill the gaps, so the grading ends about when its longest batch does).
// Checks that fail or err are observed again per their retry policy, batched
// together. Results come back in suite order, so grading an unchanged lab twice
// gives the same verdicts.
type Runner struct {
	Registry *probe.Registry
	// Referential scores the results; nil loads the one the suites name.
	Referential *referential.Referential
	// Concurrency bounds simultaneous Probe.Run calls (default DefaultConcurrency).
	Concurrency int
	// DefaultTimeout applies to checks without `timeout` (default DefaultTimeout).
	DefaultTimeout time.Duration
	// Clock defaults to SystemClock.
	Clock Clock
	// OnCandidate, when set, receives each candidate's report as soon as it is
	// graded (for progress display). Calls are serialised.
	OnCandidate func(CandidateReport)
}

// Run grades every candidate and returns the report. It returns an error without
// observing anything when the suites cannot be graded together (mixed
// referentials) or when a template fails to render for a candidate
// (yamlx.Diagnostics: a suite or roster problem). When ctx is cancelled, it
// returns the report so far, unobserved checks in status error, with ctx's error.
func (r *Runner) Run(ctx context.Context, sess Session, suites []*Suite, cands []Candidate) (*Report, error) {
	if r.Registry == nil {
		return nil, errors.New("grade: no probe registry")
	}
	clock := r.Clock
	if clock == nil {
		clock = SystemClock{}
	}
	ref, err := r.referential(suites)
	if err != nil {
		return nil, err
	}
	units, err := unitsOf(suites)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, c := range cands {
		if c.ID == "" || seen[c.ID] {
			return nil, fmt.Errorf("grade: candidate id %q empty or repeated", c.ID)
		}
		seen[c.ID] = true
	}

	rep := &Report{
		SchemaVersion: ReportSchemaVersion, Session: sess.ID, Lab: sess.Lab,
		Referential: ref.Version, StartedAt: clock.Now(),
	}
	grades := make([]*candidateGrade, len(cands))
	var diags yamlx.Diagnostics
	for i, c := range cands {
		g, ds := r.plan(sess, c, units)
		grades[i] = g
		diags = append(diags, ds...)
	}
	if len(diags) > 0 {
		return nil, diags.Err()
	}

	concurrency := r.Concurrency
	if concurrency <= 0 {
		concurrency = DefaultConcurrency
	}
	ex := &executor{
		reg: r.Registry, clock: clock, slots: newSlots(concurrency),
		timeout: r.DefaultTimeout,
	}
	if ex.timeout <= 0 {
		ex.timeout = DefaultTimeout
	}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		finals = make([]CandidateReport, len(cands))
		queue  []queued
	)
	for i, g := range grades {
		g.pending = len(g.groups)
		g.finish = func() {
			cr := g.assemble(ref)
			mu.Lock()
			defer mu.Unlock()
			finals[i] = cr
			if r.OnCandidate != nil {
				r.OnCandidate(cr)
			}
		}
		if g.pending == 0 {
			g.finish()
			continue
		}
		for _, grp := range g.groups {
			queue = append(queue, queued{g, grp})
		}
	}
	// Longest batches first (most checks; then candidate and suite order):
	// each takes its slot here, in that order, and runs its first attempt on it.
	sort.SliceStable(queue, func(i, j int) bool { return len(queue[i].grp.units) > len(queue[j].grp.units) })
	for _, q := range queue {
		held := ex.slots.acquire(ctx, len(q.grp.units)) == nil
		wg.Add(1)
		go func() {
			defer wg.Done()
			ex.run(ctx, q.g, q.grp, held)
			mu.Lock()
			q.g.pending--
			last := q.g.pending == 0
			mu.Unlock()
			if last {
				q.g.finish()
			}
		}()
	}
	wg.Wait()
	rep.Candidates = finals
	rep.FinishedAt = clock.Now()
	if err := ctx.Err(); err != nil {
		return rep, fmt.Errorf("grading interrupted: %w", err)
	}
	return rep, nil
}

func (r *Runner) referential(suites []*Suite) (*referential.Referential, error) {
	if r.Referential != nil {
		for _, s := range suites {
			if s.Referential != "" && s.Referential != r.Referential.Version {
				return nil, fmt.Errorf("grade: suite %s targets referential %q, grading uses %q", s.File, s.Referential, r.Referential.Version)
			}
		}
		return r.Referential, nil
	}
	version := ""
	for _, s := range suites {
		if version != "" && s.Referential != version {
			return nil, fmt.Errorf("grade: suites target different referentials (%q and %q)", version, s.Referential)
		}
		version = s.Referential
	}
	ref, err := referential.Load(version)
	if err != nil {
		return nil, fmt.Errorf("grade: %w", err)
	}
	return ref, nil
}

// unit is one check or jury item of one suite, in report order.
type unit struct {
	suite *Suite
	check *Check    // nil for a jury item
	jury  *JuryItem // nil for a check
	reqID string    // request id: the check id, qualified by the suite when ids collide
	deps  []int     // indexes of the units this check depends on
}

func unitsOf(suites []*Suite) ([]unit, error) {
	count := map[string]int{}
	names := map[string]bool{}
	for _, s := range suites {
		if names[s.Name] {
			return nil, fmt.Errorf("grade: two suites are named %q", s.Name)
		}
		names[s.Name] = true
		for _, c := range s.Checks {
			count[c.ID]++
		}
	}
	var units []unit
	for _, s := range suites {
		index := map[string]int{}
		for _, c := range s.Checks {
			index[c.ID] = len(units)
			id := c.ID
			if count[id] > 1 {
				id = s.Name + "/" + c.ID
			}
			units = append(units, unit{suite: s, check: c, reqID: id})
		}
		for i := range units {
			u := &units[i]
			if u.suite != s || u.check == nil {
				continue
			}
			for _, dep := range u.check.DependsOn {
				j, ok := index[dep]
				if !ok {
					return nil, fmt.Errorf("grade: %s: check %q depends on unknown %q", s.File, u.check.ID, dep)
				}
				u.deps = append(u.deps, j)
			}
		}
		for i := range s.Jury {
			units = append(units, unit{suite: s, jury: &s.Jury[i]})
		}
	}
	return units, nil
}

// candidateGrade is one candidate's grading in progress.
type candidateGrade struct {
	cand    Candidate
	units   []unit
	results []Result // by unit index
	params  []probe.Params
	exps    [][]expectation
	groups  []*group
	mask    func(string) string
	pending int    // groups not finished (guarded by Runner.Run's mutex)
	finish  func() // assembles the report once the last group is done
}

// queued is a group waiting for its first attempt.
type queued struct {
	g   *candidateGrade
	grp *group
}

// group is the checks of one candidate observed through one vantage machine with
// one probe type: one Probe.Run per attempt.
type group struct {
	machine string
	probe   string
	as      string // the identity the probe presents ("" the default)
	target  probe.Target
	units   []int
}

// label is the group's probe, and the identity it presents when not the
// default, for messages: "smb", "smb en tant que bob".
func (grp *group) label() string {
	if grp.as == "" {
		return grp.probe
	}
	return grp.probe + " en tant que " + grp.as
}

// plan renders the candidate's checks and groups them; checks that cannot be
// observed (machine missing from the inventory, unknown probe) get their error
// result now.
func (r *Runner) plan(sess Session, c Candidate, units []unit) (*candidateGrade, yamlx.Diagnostics) {
	g := &candidateGrade{
		cand: c, units: units, results: make([]Result, len(units)),
		params: make([]probe.Params, len(units)), exps: make([][]expectation, len(units)),
	}
	masker := &secret.Masker{}
	var maskers []*secret.Masker
	names := make([]string, 0, len(c.Machines))
	for name := range c.Machines {
		names = append(names, name)
	}
	sort.Strings(names)
	machines := map[string]TemplateMachine{}
	for _, name := range names {
		t := c.Machines[name]
		machines[name] = TemplateMachine{Name: name, Address: t.Address}
		if t.Masker != nil {
			maskers = append(maskers, t.Masker)
		}
	}
	g.mask = func(s string) string {
		s = masker.Mask(s)
		for _, m := range maskers {
			s = m.Mask(s)
		}
		return s
	}
	var diags yamlx.Diagnostics
	byKey := map[[3]string]*group{}
	na := notApplicable(&c, units)
	for i, u := range units {
		if na[i] != "" {
			g.results[i] = naResult(u, na[i])
			continue
		}
		if u.jury != nil {
			g.results[i] = juryResult(u)
			continue
		}
		chk := u.check
		res := Result{
			CheckID: chk.ID, Suite: u.suite.Name, Title: chk.Title, Competence: chk.Competence,
			Machine: chk.Machine, From: chk.From, Probe: chk.Probe, Status: StatusError,
			MaxPoints: chk.Points, Critical: chk.Critical,
		}
		vantage := chk.Vantage()
		target, haveTarget := c.Machines[vantage]
		_, haveMachine := c.Machines[chk.Machine]
		_, haveProbe := r.Registry.Get(chk.Probe)
		switch {
		case !haveMachine:
			res.Message = fmt.Sprintf("machine %q absente de l'inventaire du candidat", chk.Machine)
		case !haveTarget:
			res.Message = fmt.Sprintf("machine d'observation %q absente de l'inventaire du candidat", vantage)
		case !haveProbe:
			res.Message = fmt.Sprintf("probe %q non disponible dans cette version de tailab", chk.Probe)
		case chk.As != "":
			var ok bool
			if target, ok = target.As(chk.Probe, chk.As); !ok {
				res.Message = fmt.Sprintf("la machine %q n'a pas d'identité %s nommée %q", vantage, chk.Probe, chk.As)
			}
		}
		if res.Message != "" {
			g.results[i] = res
			continue
		}
		data := &TemplateData{
			Candidate: TemplateCandidate{ID: c.ID, LastName: c.LastName, FirstName: c.FirstName},
			Params:    c.Params,
			Session:   TemplateSession{ID: sess.ID, Lab: sess.Lab, StartedAt: formatStart(sess.StartedAt)},
			Machine:   machines[chk.Machine], From: machines[vantage], Machines: machines,
		}
		params, exps, ds := chk.instantiate(r.Registry, data)
		masker.Add(data.revealed...)
		for _, d := range ds {
			d.Message = fmt.Sprintf("candidate %s: %s", c.ID, d.Message)
			diags = append(diags, d)
		}
		g.params[i], g.exps[i] = params, exps
		g.results[i] = res
		key := [3]string{vantage, chk.Probe, chk.As}
		grp, ok := byKey[key]
		if !ok {
			grp = &group{machine: vantage, probe: chk.Probe, as: chk.As, target: target}
			byKey[key] = grp
			g.groups = append(g.groups, grp)
		}
		grp.units = append(grp.units, i)
	}
	return g, diags
}

func formatStart(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// notApplicable gives, for each unit, why it does not apply to the candidate
// ("" when it does): its suite's or its own `when` names none of the
// candidate's faults, or a check it depends on does not apply (a prerequisite
// that is not the candidate's makes its dependants not theirs either).
func notApplicable(c *Candidate, units []unit) []string {
	out := make([]string, len(units))
	state := make([]int, len(units)) // 0 todo, 1 in progress, 2 done
	var resolve func(i int)
	resolve = func(i int) {
		if state[i] != 0 {
			return
		}
		state[i] = 1
		defer func() { state[i] = 2 }()
		u := units[i]
		own := u.suite.When
		if !own.Applies(c) {
			out[i] = own.reason()
			return
		}
		if u.jury != nil {
			own = u.jury.When
		} else {
			own = u.check.When
		}
		if !own.Applies(c) {
			out[i] = own.reason()
			return
		}
		for _, j := range u.deps {
			resolve(j)
			if out[j] != "" {
				out[i] = fmt.Sprintf("sans objet : le contrôle prérequis %q est sans objet pour ce candidat", units[j].check.ID)
				return
			}
		}
	}
	for i := range units {
		resolve(i)
	}
	return out
}

// naResult is the result of a check or jury item not applicable to the candidate.
func naResult(u unit, why string) Result {
	if u.jury != nil {
		r := juryResult(u)
		r.Status, r.Message = StatusNA, why
		return r
	}
	chk := u.check
	return Result{
		CheckID: chk.ID, Suite: u.suite.Name, Title: chk.Title, Competence: chk.Competence,
		Machine: chk.Machine, From: chk.From, Probe: chk.Probe, Status: StatusNA,
		MaxPoints: chk.Points, Critical: chk.Critical, Message: why,
	}
}

func juryResult(u unit) Result {
	return Result{
		CheckID: u.jury.ID, Suite: u.suite.Name, Title: u.jury.Title, Competence: u.jury.Competence,
		Status: StatusJury, MaxPoints: u.jury.Points, Message: "à évaluer par le jury",
	}
}

// executor runs groups under the concurrency bound.
type executor struct {
	reg     *probe.Registry
	clock   Clock
	slots   *slots
	timeout time.Duration
}

// run observes one group, retrying its failed checks per their policy. held
// says the first attempt's slot is already taken.
func (ex *executor) run(ctx context.Context, g *candidateGrade, grp *group, held bool) {
	p, _ := ex.reg.Get(grp.probe)
	pending := grp.units
	for attempt := 1; ; attempt++ {
		ex.observe(ctx, g, grp, p, pending, attempt, held)
		held = false
		var retry []int
		var wait time.Duration
		for _, i := range pending {
			res := &g.results[i]
			pol := g.units[i].check.Retry
			if res.Status != StatusPass && attempt < pol.Attempts {
				retry = append(retry, i)
				wait = max(wait, pol.Interval)
			}
		}
		if len(retry) == 0 || ctx.Err() != nil {
			return
		}
		if err := ex.clock.Sleep(ctx, wait); err != nil {
			return
		}
		pending = retry
	}
}

// observe runs one batch and judges its checks.
func (ex *executor) observe(ctx context.Context, g *candidateGrade, grp *group, p probe.Probe, idx []int, attempt int, held bool) {
	reqs := make([]probe.Request, len(idx))
	var budget time.Duration
	for k, i := range idx {
		chk := g.units[i].check
		to := chk.Timeout
		if to <= 0 {
			to = ex.timeout
		}
		budget += to
		reqs[k] = probe.Request{ID: g.units[i].reqID, Params: g.params[i], Timeout: to, Exclusive: chk.Exclusive}
	}
	started := ex.clock.Now()
	obs, err := ex.batch(ctx, p, grp.target, reqs, budget+10*time.Second, held)
	elapsed := ex.clock.Now().Sub(started)
	byID := map[string]probe.Observation{}
	for k, o := range obs {
		if o.ID == "" && k < len(reqs) {
			o.ID = reqs[k].ID
		}
		if _, dup := byID[o.ID]; !dup {
			byID[o.ID] = o
		}
	}
	for k, i := range idx {
		res := &g.results[i]
		res.StartedAt, res.Attempts = started, attempt
		res.Duration, res.Evidence, res.Expectations, res.Points = elapsed, "", nil, 0
		o, ok := byID[reqs[k].ID]
		switch {
		case err != nil:
			res.Status = StatusError
			res.Message = g.mask(fmt.Sprintf("observation impossible sur %q (%s) : %v", grp.machine, grp.label(), err))
			if ok {
				res.Evidence = g.mask(o.Evidence)
			}
			continue
		case !ok:
			res.Status = StatusError
			res.Message = fmt.Sprintf("le probe %q n'a renvoyé aucune observation pour ce contrôle", grp.probe)
			continue
		}
		if o.Duration > 0 {
			res.Duration = o.Duration
		}
		res.Evidence = g.mask(o.Evidence)
		if o.Err != nil {
			res.Status = StatusError
			res.Message = g.mask(fmt.Sprintf("observation impossible : %v", o.Err))
			continue
		}
		passed, exps := judge(g.exps[i], o, g.mask)
		res.Expectations = exps
		if passed {
			res.Status, res.Points, res.Message = StatusPass, res.MaxPoints, ""
		} else {
			res.Status, res.Message = StatusFail, failMessage(exps)
		}
	}
}

// failMessage is the sentence the jury reads for a failed check: what was
// expected and what was found, in words ("attendu : au moins 3 ; trouvé :
// 1"), for the first unmet expectation; the matcher's own detail stays in
// the expectations (the evidence).
func failMessage(exps []Expectation) string {
	n := 0
	first := ""
	for _, e := range exps {
		if !e.OK {
			if n == 0 {
				first = e.Sentence()
			}
			n++
		}
	}
	switch n {
	case 0, 1:
		return first
	case 2:
		return first + " (et 1 autre écart)"
	}
	return fmt.Sprintf("%s (et %d autres écarts)", first, n-1)
}

// batch calls the probe once under the concurrency bound (on a slot already
// taken when held), turning a panic into an error so one broken probe cannot
// take the grading down.
func (ex *executor) batch(ctx context.Context, p probe.Probe, t probe.Target, reqs []probe.Request, budget time.Duration, held bool) (obs []probe.Observation, err error) {
	if !held {
		if err := ex.slots.acquire(ctx, len(reqs)); err != nil {
			return nil, fmt.Errorf("notation interrompue : %w", err)
		}
	}
	defer ex.slots.release()
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	defer func() {
		if v := recover(); v != nil {
			obs, err = nil, fmt.Errorf("probe %q: panic: %v", p.Type(), v)
		}
	}()
	// With an error, the observations a probe still returns are kept: what it
	// saw before failing (the host key it was shown, a transport note) is the
	// evidence of the `error`.
	return p.Run(ctx, t, reqs)
}

// assemble applies dependencies and scores the candidate.
func (g *candidateGrade) assemble(ref *referential.Referential) CandidateReport {
	final := make([]Result, len(g.results))
	copy(final, g.results)
	state := make([]int, len(final)) // 0 todo, 1 in progress, 2 done
	var resolve func(i int)
	resolve = func(i int) {
		if state[i] != 0 {
			return
		}
		state[i] = 1
		for _, j := range g.units[i].deps {
			resolve(j)
			if state[j] == 2 && final[j].Status != StatusPass && final[i].Status != StatusSkip && final[i].Status != StatusNA {
				res := &final[i]
				res.Status, res.Points = StatusSkip, 0
				res.Message = fmt.Sprintf("non évalué : le contrôle prérequis %q n'a pas réussi (%s)", final[j].CheckID, final[j].Status)
				res.Expectations, res.Evidence = nil, ""
			}
		}
		state[i] = 2
	}
	for i := range final {
		resolve(i)
	}
	cr := CandidateReport{ID: g.cand.ID, LastName: g.cand.LastName, FirstName: g.cand.FirstName, Index: g.cand.Index, Results: final}
	if g.cand.FaultsKnown {
		cr.Faults = append([]Fault(nil), g.cand.Faults...)
	}
	Score(ref, &cr)
	return cr
}
