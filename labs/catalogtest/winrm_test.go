package catalogtest

import (
	"context"
	"encoding/json"
	"maps"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/checks/probe/ssh"
	"github.com/tailab/tailab/checks/probe/tcp"
	"github.com/tailab/tailab/checks/probe/winrm"
	"github.com/tailab/tailab/internal/secret"
	"github.com/tailab/tailab/internal/testenv"
	"github.com/tailab/tailab/internal/testenv/wsman"
	"github.com/tailab/tailab/labs"
)

// listen accepts (and closes) connections on a port of 127.0.0.1 in the test's
// network namespace: the machines' management ports the tcp guards dial.
func listen(t *testing.T, port int) {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("listen on %d: %v", port, err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
}

// windowsLab is a lab whose Windows machines are fake machines behind wsman
// test servers, graded with the real runner and probes.
type windowsLab struct {
	*labFixture
	machines map[string]*fakeWindows // by machine name
	targets  map[string]probe.Target
	reg      *probe.Registry
	winrm    []suiteCheck         // the lab's winrm checks
	recs     map[string]recording // by check key
	reqID    map[string]string    // check key → request id
}

func newWindowsLab(t *testing.T, name string) *windowsLab {
	t.Helper()
	testenv.RequireIsolatedNetwork(t)
	f := loadLab(t, name)
	w := &windowsLab{labFixture: f, machines: map[string]*fakeWindows{}, targets: map[string]probe.Target{},
		recs: map[string]recording{}, reqID: f.reqIDs()}
	p := winrm.New()
	for _, m := range f.inst.Machines {
		if m.OS != labs.OSWindows {
			// Not a Windows machine: nothing listens for it (its ssh checks err).
			w.targets[m.Name] = probe.Target{Session: sessionID, Candidate: testCandidate.ID, Machine: m.Name,
				Address: "127.0.0.1", Ports: map[string]int{"ssh": 1}}
			continue
		}
		user, pw := f.secretValue(t, m, "winrm")
		fw := &fakeWindows{t: t, machine: m.Name}
		srv := wsman.Start(t, wsman.Config{User: user, Password: pw, Computer: strings.ToUpper(m.Name), Handler: fw.handle})
		p.CACert = srv.CACertPEM // httptest servers share one certificate
		masker := &secret.Masker{}
		masker.Add(pw)
		w.machines[m.Name] = fw
		w.targets[m.Name] = probe.Target{Session: sessionID, Candidate: testCandidate.ID, Machine: m.Name,
			Address: srv.Host, Ports: map[string]int{"winrm": srv.Port},
			Credentials: map[string]probe.Credentials{"winrm": {User: user, Password: secret.New(pw)}},
			Masker:      masker}
	}
	w.reg = probe.NewRegistry(tcp.New(), ssh.New(), p)
	data := newPayloadData(f.inst.Params)
	w.winrm = f.checksOf(winrm.Type)
	for _, c := range w.winrm {
		w.recs[c.key()] = loadRecording(t, c.suite.Name, c.check.ID, data)
	}
	return w
}

// state names the entry each check answers with.
type state func(c suiteCheck, r recording) json.RawMessage

func solved(_ suiteCheck, r recording) json.RawMessage { return r.Solved }

func untouched(_ suiteCheck, r recording) json.RawMessage {
	if r.Untouched == nil {
		return r.Solved
	}
	return r.Untouched
}

// except answers one check from another state.
func except(key string, other state) state {
	return func(c suiteCheck, r recording) json.RawMessage {
		if c.key() == key {
			return other(c, r)
		}
		return r.Solved
	}
}

func beforeStart(_ suiteCheck, r recording) json.RawMessage { return r.BeforeStart }

func variant(e json.RawMessage) state {
	return func(suiteCheck, recording) json.RawMessage { return e }
}
func broken(_ suiteCheck, r recording) json.RawMessage { return r.Broken }

// grade sets every fake machine's answers for the state and grades the
// candidate: faults is nil for "every fault applied" (as `tailab verify` does),
// or the faults the candidate drew.
func (w *windowsLab) grade(t *testing.T, st state, drawn []labs.Fault) map[string]checks.Result {
	t.Helper()
	answers := map[string]map[string]string{}
	for _, c := range w.winrm {
		v := c.check.Vantage()
		if answers[v] == nil {
			answers[v] = map[string]string{}
		}
		answers[v][w.reqID[c.key()]] = string(st(c, w.recs[c.key()]))
	}
	for name, fw := range w.machines {
		fw.setAnswers(answers[name])
	}
	cand := checks.Candidate{ID: testCandidate.ID, LastName: testCandidate.LastName, FirstName: testCandidate.FirstName,
		Params: w.inst.Params, Machines: w.targets}
	if drawn != nil {
		cand.FaultsKnown = true
		for _, f := range drawn {
			cand.Faults = append(cand.Faults, checks.Fault{Name: f.Name, Title: f.Title})
		}
	}
	r := &checks.Runner{Registry: w.reg}
	rep, err := r.Run(context.Background(), checks.Session{ID: sessionID, Lab: w.lab.Name, StartedAt: startedAt}, w.suites, []checks.Candidate{cand})
	if err != nil {
		t.Fatalf("grade: %v", err)
	}
	return results(t, rep)
}

// TestWindowsChecksBothWays sends every Windows check of the real-exam labs
// through the winrm probe to fake machines answering with what Windows returns:
// each check passes on the solved lab and fails when only its own answer is the
// untouched one (or the object predates the session); guards pass untouched and
// fail broken; the whole untouched lab scores 0.
func TestWindowsChecksBothWays(t *testing.T) {
	listen(t, winrm.DefaultPort) // the tcp guards' ports: WinRM, and SSH for the routers
	listen(t, 22)
	total := map[string]int{}
	for _, name := range realLabs {
		t.Run(name, func(t *testing.T) {
			w := newWindowsLab(t, name)
			deps := w.dependents()
			counts := map[string]int{}

			// Solved: every Windows check passes, on the script the machine really got.
			res := w.grade(t, solved, nil)
			for _, c := range w.winrm {
				r := res[c.key()]
				if r.Status != checks.StatusPass {
					t.Errorf("%s solved: %s", c.key(), explain(r))
				}
				script, ok := w.machines[c.check.Vantage()].script(w.reqID[c.key()])
				if !ok {
					t.Errorf("%s: machine %s never received the check", c.key(), c.check.Vantage())
					continue
				}
				if strings.Contains(script, "{{") || strings.Contains(script, "<no value>") {
					t.Errorf("%s: unrendered template in the script:\n%s", c.key(), script)
				}
				for _, cmdlet := range w.recs[c.key()].Cmdlets {
					if !strings.Contains(script, cmdlet) {
						t.Errorf("%s: the recorded payload is %s's output, but the script does not call it:\n%s", c.key(), cmdlet, script)
					}
				}
			}
			for key, r := range res {
				if r.Probe == tcp.Type && r.Status != checks.StatusPass {
					t.Errorf("%s (tcp guard) solved: %s", key, explain(r))
				}
			}

			// One check at a time: untouched (or created before the start) fails,
			// the checks depending on it are skipped, every other one still passes.
			flip := func(c suiteCheck, variant string, st state, want checks.Status) {
				t.Helper()
				res := w.grade(t, except(c.key(), st), nil)
				for _, o := range w.winrm {
					r := res[o.key()]
					switch {
					case o.key() == c.key():
						if r.Status != want {
							t.Errorf("%s %s: want %s, got %s", c.key(), variant, want, explain(r))
						}
					case want != checks.StatusPass && deps[c.key()][o.key()]:
						if r.Status != checks.StatusSkip {
							t.Errorf("%s %s: dependent %s: want skip, got %s", c.key(), variant, o.key(), r.Status)
						}
					case r.Status != checks.StatusPass:
						t.Errorf("%s %s: unrelated %s: want pass, got %s", c.key(), variant, o.key(), explain(r))
					}
				}
			}
			for _, c := range w.winrm {
				rec := w.recs[c.key()]
				guard := c.check.Points == 0
				switch {
				case guard:
					flip(c, "untouched", untouched, checks.StatusPass)
					if rec.Broken == nil {
						t.Errorf("%s: a guard needs a broken answer", c.key())
						continue
					}
					flip(c, "broken", broken, checks.StatusFail)
					counts["guards"]++
				default:
					if rec.Untouched == nil {
						t.Errorf("%s: a scoring check needs an untouched answer", c.key())
						continue
					}
					flip(c, "untouched", untouched, checks.StatusFail)
					counts["both ways"]++
				}
				if rec.BeforeStart != nil {
					flip(c, "before the start", beforeStart, checks.StatusFail)
					counts["timeline"]++
				}
				for _, name := range slices.Sorted(maps.Keys(rec.Fails)) {
					flip(c, "fails."+name, variant(rec.Fails[name]), checks.StatusFail)
					counts["variants"]++
				}
				for _, name := range slices.Sorted(maps.Keys(rec.Passes)) {
					flip(c, "passes."+name, variant(rec.Passes[name]), checks.StatusPass)
					counts["variants"]++
				}
			}

			// The whole lab untouched scores 0; guards still pass.
			res = w.grade(t, untouched, nil)
			for _, c := range w.winrm {
				r := res[c.key()]
				switch {
				case c.check.Points == 0 && r.Status != checks.StatusPass:
					t.Errorf("%s (guard) untouched: %s", c.key(), explain(r))
				case c.check.Points > 0 && r.Status != checks.StatusFail && r.Status != checks.StatusSkip:
					t.Errorf("%s untouched: want fail or skip, got %s", c.key(), explain(r))
				}
				if r.Points != 0 {
					t.Errorf("%s untouched earns %v points", c.key(), r.Points)
				}
			}

			// A candidate's own draw: the checks of the faults they did not draw do
			// not apply; untouched they score 0, solved the maximum.
			drawn := w.lab.FaultsFor(sessionID, testCandidate)
			if len(w.lab.Faults) > 0 {
				for _, st := range []struct {
					name string
					st   state
				}{{"untouched", untouched}, {"solved", solved}} {
					res := w.grade(t, st.st, drawn)
					var points, max float64
					na := 0
					for _, c := range w.winrm {
						r := res[c.key()]
						if r.Status == checks.StatusNA {
							na++
							if c.check.When == nil {
								t.Errorf("%s: na without a `when`", c.key())
							}
							continue
						}
						points += r.Points
						max += r.MaxPoints
					}
					if na == 0 && hasWhen(w.winrm) {
						t.Errorf("drawn faults, %s: no check is na", st.name)
					}
					if st.name == "untouched" && points != 0 {
						t.Errorf("drawn faults, untouched: %v points, want 0", points)
					}
					if st.name == "solved" && (points != max || max == 0) {
						t.Errorf("drawn faults, solved: %v points of %v", points, max)
					}
				}
			}

			// Every recording belongs to a check, every Windows check has one.
			files := recordedFiles(t)
			for _, s := range w.suites {
				want := []string{}
				for _, c := range s.Checks {
					if c.Probe == winrm.Type {
						want = append(want, c.ID)
					}
				}
				if len(want) == 0 {
					continue
				}
				sort.Strings(want)
				if got := files[s.Name]; strings.Join(got, " ") != strings.Join(want, " ") {
					t.Errorf("testdata/%s holds %v, the suite's Windows checks are %v", s.Name, got, want)
				}
			}
			t.Logf("%s: %d Windows checks — %d pass solved and fail untouched, %d guards pass untouched and fail broken, %d fail when created before the start, %d other answers",
				name, len(w.winrm), counts["both ways"], counts["guards"], counts["timeline"], counts["variants"])
			for k, v := range counts {
				total[k] += v
			}
			total["checks"] += len(w.winrm)
		})
	}
	t.Logf("all labs: %d Windows checks — %d both ways, %d guards, %d timeline, %d other answers",
		total["checks"], total["both ways"], total["guards"], total["timeline"], total["variants"])
}

func hasWhen(cs []suiteCheck) bool {
	for _, c := range cs {
		if c.check.When != nil {
			return true
		}
	}
	return false
}
