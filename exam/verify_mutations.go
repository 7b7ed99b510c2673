package exam

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/internal/yamlx"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
)

// MutationVerdict is what one mutation of the reference solution did
// (docs/catalog.md, "Mutations"): the checks expected to fail, those that
// passed all the same (not caught: a check credits the near miss) and those
// that failed without being expected to (overreach).
type MutationVerdict struct {
	Name, Title string
	Fails       []string // expected not to pass (suite/id)
	NotCaught   []string // expected to fail, passed: "check passed: title"
	Overreach   []string // not expected to fail, did not pass: "check (status): message"
	Errors      []string // checks that could not be observed
	Failed      string   // a step of the solution or of the mutation failed
}

// Caught says the mutation failed exactly the checks it lists.
func (m MutationVerdict) Caught() bool {
	return len(m.NotCaught)+len(m.Overreach)+len(m.Errors) == 0 && m.Failed == ""
}

// IntegrityRun is the untouched lab after one admin action on every machine
// (reset, snapshot create, snapshot revert): it must pass exactly the checks
// it passed untouched, and every fault must be present.
type IntegrityRun struct {
	Action string
	Points float64
	Gained []string // checks that pass now and did not untouched
	Lost   []string // checks that passed untouched (baseline) and do not now
	Faults []FaultWatch
	Failed string // the action or the grading failed
}

// Held says the action gave and took nothing, and left every fault present.
func (r IntegrityRun) Held() bool {
	if r.Failed != "" || len(r.Gained)+len(r.Lost) > 0 {
		return false
	}
	for _, f := range r.Faults {
		if f.After != Present {
			return false
		}
	}
	return true
}

// checkIndex maps check ids and suite/id keys of the suites to their keys.
type checkIndex struct {
	keys map[string][]string
	all  []string
}

func newCheckIndex(suites []*checks.Suite) checkIndex {
	ix := checkIndex{keys: map[string][]string{}}
	for _, s := range suites {
		for _, c := range s.Checks {
			k := s.Name + "/" + c.ID
			ix.keys[c.ID] = append(ix.keys[c.ID], k)
			ix.keys[k] = append(ix.keys[k], k)
			ix.all = append(ix.all, c.ID)
		}
	}
	return ix
}

// resolve gives a reference's key, or a diagnostic's message.
func (ix checkIndex) resolve(id string) (string, string) {
	switch ks := ix.keys[id]; len(ks) {
	case 1:
		return ks[0], ""
	case 0:
		return "", fmt.Sprintf("no check %q in the lab's suites%s", id, yamlx.Suggest(id, ix.all))
	default:
		return "", fmt.Sprintf("check id %q is in several suites: write suite/id (%s)", id, strings.Join(ks, ", "))
	}
}

// mutationDiagnostics checks that the checks the lab's mutations name exist
// in its suites (with the position of each id in the lab file).
func mutationDiagnostics(lab *labs.Lab, suites []*checks.Suite) yamlx.Diagnostics {
	ix := newCheckIndex(suites)
	var ds yamlx.Diagnostics
	for i, m := range lab.Mutations {
		for _, l := range []struct {
			key  string
			refs []labs.CheckRef
		}{{"fails", m.Fails}, {"na", m.NA}} {
			for j, r := range l.refs {
				if _, msg := ix.resolve(r.ID); msg != "" {
					pos := r.Pos
					if pos.File == "" {
						pos.File = lab.Source
					}
					ds.Add(pos, fmt.Sprintf("mutations[%d].%s[%d]", i, l.key, j), "%s", msg)
				}
			}
		}
	}
	return ds
}

// keysOf resolves references already validated (mutationDiagnostics).
func (ix checkIndex) keysOf(refs []labs.CheckRef) map[string]bool {
	out := map[string]bool{}
	for _, r := range refs {
		if k, _ := ix.resolve(r.ID); k != "" {
			out[k] = true
		}
	}
	return out
}

// CompareMutation compares a mutated lab's grading with what the mutation
// says it fails: a machine check expected to fail must not pass (fail, or
// skip after a dependency failed), every other one must pass, except those
// the mutation leaves undecided (na).
func CompareMutation(m labs.Mutation, suites []*checks.Suite, rep checks.CandidateReport) MutationVerdict {
	ix := newCheckIndex(suites)
	fails, na := ix.keysOf(m.Fails), ix.keysOf(m.NA)
	v := newMutationVerdict(m, suites)
	for _, r := range rep.Results {
		k := checkKey(r)
		switch {
		case r.Status == checks.StatusJury || na[k]:
		case r.Status == checks.StatusError:
			v.Errors = append(v.Errors, fmt.Sprintf("%s: %s", k, firstLine(r.Message)))
		case r.Status == checks.StatusPass && fails[k]:
			v.NotCaught = append(v.NotCaught, fmt.Sprintf("%s passed: %s", k, r.Title))
		case r.Status != checks.StatusPass && !fails[k]:
			v.Overreach = append(v.Overreach, fmt.Sprintf("%s %s (%s)", k, r.Status, firstLine(r.Message)))
		}
	}
	return v
}

// newMutationVerdict is a mutation's verdict before its grading.
func newMutationVerdict(m labs.Mutation, suites []*checks.Suite) MutationVerdict {
	v := MutationVerdict{Name: m.Name, Title: m.Title}
	for k := range newCheckIndex(suites).keysOf(m.Fails) {
		v.Fails = append(v.Fails, k)
	}
	sort.Strings(v.Fails)
	return v
}

// CompareIntegrity compares the untouched lab after an admin action with the
// untouched grading: the same checks pass, no more, no fewer.
func CompareIntegrity(action string, untouched, after checks.CandidateReport, faults []FaultWatch) IntegrityRun {
	run := IntegrityRun{Action: action, Points: after.Points, Faults: faults}
	before := map[string]bool{}
	for _, r := range untouched.Results {
		if r.Status == checks.StatusPass {
			before[checkKey(r)] = true
		}
	}
	for _, r := range after.Results {
		k := checkKey(r)
		switch {
		case r.Status == checks.StatusJury:
		case r.Status == checks.StatusPass && !before[k]:
			run.Gained = append(run.Gained, k)
		case r.Status != checks.StatusPass && before[k]:
			run.Lost = append(run.Lost, fmt.Sprintf("%s %s (%s)", k, r.Status, firstLine(r.Message)))
		}
	}
	return run
}

// second brings up the mutations' instances (m01..) and the integrity's
// (i00) while the solution is proven on the first ones, so that fewer
// machines start at once; applies every fault; then runs both phases at once.
func (r *verifyRun) second(ctx context.Context, v *Verification, untouched checks.CandidateReport) error {
	start := time.Now()
	ids := make([]string, 0, len(r.lab.Mutations)+1)
	for _, c := range r.cands[len(r.lab.Solution.Steps)+1:] {
		ids = append(ids, c.ID)
	}
	// They start while the first ones work: a machine slow to get ready
	// (a Samba DC on a loaded host) gets a second wait (up reconciles).
	for attempt := 1; ; attempt++ {
		plan, err := r.Engine.Plan(ctx, r.sess, ids)
		if err != nil {
			return fmt.Errorf("plan session %s: %w", r.sess.Name, err)
		}
		err = r.Engine.Up(ctx, plan, provision.ApplyOptions{Parallel: r.Parallel, Force: true}, r.Machines)
		if err == nil {
			break
		}
		if attempt == 2 || ctx.Err() != nil {
			return fmt.Errorf("bring the mutations' instances up: %w", err)
		}
		r.Observer.Logf("mutations' instances not all ready (%s): up again", firstLine(err.Error()))
	}
	ins, runner, err := r.bind(ids)
	if err != nil {
		return err
	}
	if err := forEach(len(ins), func(i int) error { return ins[i].ApplyFaults(ctx, ins[i].Scenario.Faults) }); err != nil {
		return err
	}
	r.Observer.Logf("%d mutation instance(s) and the integrity's up, faults applied (%.1fs)", len(ins)-1, time.Since(start).Seconds())
	var (
		wg     sync.WaitGroup
		intErr error
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		v.Integrity, intErr = r.integrity(ctx, runner, ins[len(ins)-1], untouched)
	}()
	v.Mutations = r.mutate(ctx, runner, ins[:len(ins)-1])
	wg.Wait()
	return intErr
}

// mutate applies, on each mutation's own instance, the whole solution then
// the mutation's steps, and grades them together.
func (r *verifyRun) mutate(ctx context.Context, runner *checks.Runner, ins []*Instance) []MutationVerdict {
	start := time.Now()
	out := make([]MutationVerdict, len(ins))
	ok := make([]bool, len(ins))
	_ = forEach(len(ins), func(k int) error {
		in := ins[k]
		m := in.Scenario.Mutations[k]
		out[k] = newMutationVerdict(m, r.suites)
		for _, st := range in.Scenario.Solution.Steps {
			if _, err := in.Steps.ApplyStep(ctx, st); err != nil {
				out[k].Failed = fmt.Sprintf("solution step %s: %s", st.Name, firstLine(err.Error()))
				return nil
			}
		}
		for _, st := range m.Steps {
			if _, err := in.Steps.ApplyStep(ctx, st); err != nil {
				out[k].Failed = fmt.Sprintf("mutation step %s: %s", st.Name, firstLine(err.Error()))
				return nil
			}
		}
		ok[k] = true
		r.Observer.Stepf("")
		return nil
	})
	var graded []*Instance
	for k, in := range ins {
		if ok[k] {
			graded = append(graded, in)
		}
	}
	reps, err := r.gradeWith(ctx, runner, graded...)
	for k, j := 0, 0; k < len(ins); k++ {
		if !ok[k] {
			continue
		}
		switch {
		case err != nil:
			out[k].Failed = "grade: " + firstLine(err.Error())
		default:
			out[k] = CompareMutation(ins[k].Scenario.Mutations[k], r.suites, reps[j])
		}
		j++
	}
	r.Observer.Stepf("%d mutated instance(s) graded (%.1fs)", len(graded), time.Since(start).Seconds())
	return out
}

// integrity takes the untouched instance in through reset, snapshot create
// and snapshot revert of every machine, each as the admin commands run it
// (Guard: faults read before, re-applied when lost), grading after each.
func (r *verifyRun) integrity(ctx context.Context, runner *checks.Runner, in *Instance, untouched checks.CandidateReport) ([]IntegrityRun, error) {
	if err := recordEveryFault(r.Engine.State, r.sess, in); err != nil {
		return nil, err
	}
	start := time.Now()
	eng, sess, id := r.Engine, r.sess, in.Candidate.ID
	const snap = "verify"
	actions := []struct {
		name string
		do   func() error
	}{
		{"reset", func() error { return eng.Reset(ctx, sess, id, "", provisionWait, r.Machines) }},
		{"snapshot create", func() error { _, err := eng.CreateSnapshot(ctx, sess, id, "", snap); return err }},
		{"snapshot revert", func() error { return eng.RevertSnapshot(ctx, sess, id, "", snap, provisionWait, r.Machines) }},
	}
	var out []IntegrityRun
	for _, a := range actions {
		iv, err := Guard(ctx, eng.State, sess, id, "", a.name, r.Observer.Logf, func() error {
			err := a.do()
			if err != nil && ctx.Err() == nil {
				// As an admin would: once more (a container slow to stop
				// on a loaded host: "Some processes refused to die").
				r.Observer.Logf("%s %s: %s: once more", a.name, id, firstLine(err.Error()))
				err = a.do()
			}
			return err
		})
		if err != nil {
			out = append(out, IntegrityRun{Action: a.name, Failed: firstLine(err.Error())})
			r.Observer.Stepf("")
			return out, nil
		}
		var faults []FaultWatch
		if iv != nil {
			faults = iv.Faults
		}
		g, err := r.gradeWith(ctx, runner, in)
		if err != nil {
			return out, err
		}
		run := CompareIntegrity(a.name, untouched, g[0], faults)
		out = append(out, run)
		r.Observer.Stepf("untouched after %-16s %g/%g pts (%.1fs)", a.name, g[0].Points, g[0].MaxPoints, time.Since(start).Seconds())
	}
	return out, nil
}

// Print writes the verification: the lab, the verdict's tables, the notes,
// and the mutations' and integrity's verdicts when they were proven.
func (v *Verification) Print(w io.Writer) error {
	fmt.Fprintf(w, "Lab %s, session %s: %d step(s), faults: %s\n\n", v.Lab, v.Session, len(v.Verdict.Steps), v.Faults)
	if err := v.Verdict.Print(w); err != nil {
		return err
	}
	for _, note := range v.Notes {
		fmt.Fprintln(w, "NOTE", note)
	}
	if len(v.Mutations)+len(v.Integrity) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	return v.PrintMutations(w)
}

// PrintMutations writes the mutations' and the integrity phase's verdicts,
// ending with a line per part ("N mutation(s), every mutation caught").
func (v *Verification) PrintMutations(w io.Writer) error {
	t := newTable(w, "MUTATION", "NEAR MISS", "MUST FAIL", "VERDICT")
	caught := 0
	for _, m := range v.Mutations {
		verdict := "caught"
		if !m.Caught() {
			verdict = "NOT EXACT"
		} else {
			caught++
		}
		t.row(m.Name, m.Title, orDash(shortIDs(m.Fails, v.Verdict.Checks)), verdict)
	}
	if err := t.flush(); err != nil {
		return err
	}
	for _, m := range v.Mutations {
		each(w, "FAILED %s: %s\n", m.Name, nonEmpty(m.Failed))
		each(w, "ERROR %s: %s\n", m.Name, m.Errors)
		each(w, "NOT CAUGHT %s: %s\n", m.Name, m.NotCaught)
		each(w, "OVERREACH %s: %s\n", m.Name, m.Overreach)
	}
	if caught == len(v.Mutations) {
		fmt.Fprintf(w, "%d mutation(s), every mutation caught.\n", len(v.Mutations))
	} else {
		fmt.Fprintf(w, "%d mutation(s), %d not exact.\n", len(v.Mutations), len(v.Mutations)-caught)
	}
	fmt.Fprintln(w)
	t = newTable(w, "UNTOUCHED AFTER", "PTS", "FAULTS PRESENT", "VERDICT")
	held := 0
	for _, run := range v.Integrity {
		verdict := "held"
		if run.Held() {
			held++
		} else {
			verdict = "BROKEN"
		}
		present := 0
		for _, f := range run.Faults {
			if f.After == Present {
				present++
			}
		}
		t.row(run.Action, fmt.Sprintf("%g", run.Points), fmt.Sprintf("%d/%d", present, len(run.Faults)), verdict)
	}
	if err := t.flush(); err != nil {
		return err
	}
	for _, run := range v.Integrity {
		each(w, "FAILED %s: %s\n", run.Action, nonEmpty(run.Failed))
		each(w, "GAINED after %s: %s\n", run.Action, run.Gained)
		each(w, "LOST after %s: %s\n", run.Action, run.Lost)
		for _, f := range run.Faults {
			if f.After != Present {
				fmt.Fprintf(w, "FAULT after %s: %s %s\n", run.Action, f.Fault, f.After)
			}
		}
	}
	if held == len(v.Integrity) {
		fmt.Fprintf(w, "Untouched lab after reset, snapshot create and revert: nothing gained, every fault present.\n")
	}
	return nil
}

// each writes format with name and each item.
func each(w io.Writer, format, name string, items []string) {
	for _, it := range items {
		fmt.Fprintf(w, format, name, it)
	}
}

// nonEmpty is s as a list: none when empty.
func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// mutationsExact says every mutation was caught and every action held.
func (v *Verification) mutationsExact() bool {
	for _, m := range v.Mutations {
		if !m.Caught() {
			return false
		}
	}
	for _, run := range v.Integrity {
		if !run.Held() {
			return false
		}
	}
	return true
}

// provisionWait: an admin action awaits the machines until ready.
var provisionWait = provision.ApplyOptions{}

// recordEveryFault records every fault as applied to the instance, as `up`
// records a candidate's draw, so that Guard watches them.
func recordEveryFault(st *provision.State, sess *provision.Session, in *Instance) error {
	rec := provision.FaultRecord{At: time.Now().UTC()}
	for _, f := range in.Scenario.Faults {
		rec.Faults = append(rec.Faults, f.Name)
	}
	if err := st.RecordFaults(sess.Name, in.Candidate.ID, rec); err != nil {
		return fmt.Errorf("candidate %s: record faults: %w", in.Candidate.ID, err)
	}
	return nil
}
