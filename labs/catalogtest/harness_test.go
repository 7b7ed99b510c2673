package catalogtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/exam"
	"github.com/tailab/tailab/internal/testenv"
	"github.com/tailab/tailab/labs"
)

func TestMain(m *testing.M) { testenv.RunInNetns(m) }

// realLabs are the real-exam labs of the catalog this package proves.
var realLabs = []string{"ccp1-poste", "ccp2-infra", "ccp3-support"}

const sessionID = "s1"

// startedAt is the session's start in every grading of these tests.
var startedAt = time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)

var testCandidate = labs.Candidate{ID: "c01", Index: 1, LastName: "Durand", FirstName: "Zoé"}

// labFixture is a real-exam lab, resolved for the test candidate, with its suites.
type labFixture struct {
	lab    *labs.Lab
	inst   *labs.Instance
	suites []*checks.Suite
}

// loadLab loads a built-in lab, resolves it for the test candidate and loads its
// suites as `tailab grade` does (exam.LoadSuites): embedded files, machines and
// faults checked.
func loadLab(t *testing.T, name string) *labFixture {
	t.Helper()
	lab, err := labs.LoadBuiltin(name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	inst, err := lab.Resolve(labs.ResolveInput{Session: sessionID, Candidate: testCandidate})
	if err != nil {
		t.Fatalf("resolve %s: %v", name, err)
	}
	suites, err := exam.LoadSuites(lab, exam.Probes())
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	f := &labFixture{lab: lab, inst: inst, suites: suites}
	return f
}

// suiteCheck is one check with its suite.
type suiteCheck struct {
	suite *checks.Suite
	check *checks.Check
}

func (c suiteCheck) key() string { return c.suite.Name + "/" + c.check.ID }

// checksOf lists the lab's checks of one probe type, in suite order.
func (f *labFixture) checksOf(probeType string) []suiteCheck {
	var out []suiteCheck
	for _, s := range f.suites {
		for _, c := range s.Checks {
			if c.Probe == probeType {
				out = append(out, suiteCheck{s, c})
			}
		}
	}
	return out
}

// reqIDs maps each check to the request id the runner gives it: its id, or
// suite/id when two suites of the lab share the id.
func (f *labFixture) reqIDs() map[string]string {
	count := map[string]int{}
	for _, s := range f.suites {
		for _, c := range s.Checks {
			count[c.ID]++
		}
	}
	out := map[string]string{}
	for _, s := range f.suites {
		for _, c := range s.Checks {
			id := c.ID
			if count[id] > 1 {
				id = s.Name + "/" + c.ID
			}
			out[s.Name+"/"+c.ID] = id
		}
	}
	return out
}

// dependents returns, for each check key, the keys of the checks of its suite
// that depend on it, directly or not.
func (f *labFixture) dependents() map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for _, s := range f.suites {
		direct := map[string][]string{}
		for _, c := range s.Checks {
			for _, d := range c.DependsOn {
				direct[d] = append(direct[d], c.ID)
			}
		}
		for _, c := range s.Checks {
			seen := map[string]bool{}
			var walk func(id string)
			walk = func(id string) {
				for _, next := range direct[id] {
					if k := s.Name + "/" + next; !seen[k] {
						seen[k] = true
						walk(next)
					}
				}
			}
			walk(c.ID)
			out[s.Name+"/"+c.ID] = seen
		}
	}
	return out
}

// secretValue returns the fixed value of the secret a machine's credentials name
// for a transport.
func (f *labFixture) secretValue(t *testing.T, m labs.Machine, transport string) (user, value string) {
	t.Helper()
	c, ok := m.Credentials[transport]
	if !ok {
		t.Fatalf("%s: machine %s has no %s credentials", f.lab.Name, m.Name, transport)
	}
	s, ok := f.lab.Secrets[c.Password]
	if !ok || s.Value == "" {
		t.Fatalf("%s: machine %s: %s password %q is not a fixed secret", f.lab.Name, m.Name, transport, c.Password)
	}
	return c.User, s.Value
}

// results indexes a one-candidate report by check key.
func results(t *testing.T, rep *checks.Report) map[string]checks.Result {
	t.Helper()
	if len(rep.Candidates) != 1 {
		t.Fatalf("%d candidates in the report", len(rep.Candidates))
	}
	out := map[string]checks.Result{}
	for _, r := range rep.Candidates[0].Results {
		out[r.Suite+"/"+r.CheckID] = r
	}
	return out
}

// explain formats a result for a failure message.
func explain(r checks.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", r.Status, r.Message)
	for _, e := range r.Expectations {
		if !e.OK {
			fmt.Fprintf(&b, "\n    %s: got %s, want %s (%s)", e.Field, e.Actual, e.Expected, e.Message)
		}
	}
	if r.Evidence != "" {
		ev := r.Evidence
		if len(ev) > 1500 {
			ev = ev[:1500] + "…"
		}
		fmt.Fprintf(&b, "\n    evidence: %s", strings.ReplaceAll(ev, "\n", "\n      "))
	}
	return b.String()
}

// ---- recorded PowerShell answers

// recording is testdata/SUITE/CHECK.json: what one check's script returns on a
// real Windows machine, per state of the lab, as the probe's program prints each
// check's entry: {"ok":true,"value":<ConvertTo-Json -Compress of the output>} or
// {"ok":false,"error":"<message>","error_type":"<.NET type>"}. The file is a Go
// template (payloadData) so the values carry the candidate's own parameters and
// times relative to the session's start.
type recording struct {
	// Comment says where the payload's shape comes from.
	Comment string `json:"comment"`
	// Cmdlets must all appear in the check's script: the payload is their output.
	Cmdlets []string `json:"cmdlets"`
	// Solved is the answer once the reference solution is applied: the check passes.
	Solved json.RawMessage `json:"solved"`
	// Untouched is the answer of the lab as it comes up (faults applied): a
	// scoring check fails; a guard (0 points) passes. A guard may omit it (same
	// as Solved).
	Untouched json.RawMessage `json:"untouched"`
	// BeforeStart, optional, is the object as it would be had it been created
	// before the session started: the check fails.
	BeforeStart json.RawMessage `json:"before_start"`
	// Broken, for guards, is what a careless repair leaves (a firewall turned
	// off, a reinstalled server): the guard fails.
	Broken json.RawMessage `json:"broken"`
	// Fails are other answers on which the check fails (a half-done or wrong
	// repair), by name; Passes other answers on which it passes.
	Fails  map[string]json.RawMessage `json:"fails"`
	Passes map[string]json.RawMessage `json:"passes"`
}

// payloadData is what recordings are rendered with.
type payloadData struct {
	P map[string]any // the candidate's parameters
	// Created is a time after the session's start, Old one before it, both as
	// Windows PowerShell 5.1's ConvertTo-Json writes a DateTime ("\/Date(ms)\/").
	Created, Old string
	// Install is an installation date ([datetime]::ToString('o') in UTC), Now the
	// machine's clock once repaired, Skewed its clock two days behind.
	Install, Now, Skewed string
}

func msDate(t time.Time) string { return fmt.Sprintf(`\/Date(%d)\/`, t.UnixMilli()) }

func roundTrip(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.0000000Z") }

func newPayloadData(params map[string]any) payloadData {
	return payloadData{
		P:       params,
		Created: msDate(startedAt.Add(47*time.Minute + 12*time.Second)),
		Old:     msDate(startedAt.AddDate(0, 0, -12)),
		Install: roundTrip(startedAt.Add(9*time.Minute + 31*time.Second + 250*time.Millisecond)),
		Now:     roundTrip(startedAt.Add(2*time.Hour + 13*time.Minute + 5*time.Second + 123456700)),
		Skewed:  roundTrip(startedAt.Add(-46*time.Hour + 13*time.Minute + 5*time.Second)),
	}
}

// loadRecording reads and renders testdata/SUITE/CHECK.json.
func loadRecording(t *testing.T, suite, check string, data payloadData) recording {
	t.Helper()
	path := filepath.Join("testdata", suite, check+".json")
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no recorded answers for %s/%s: %v", suite, check, err)
	}
	tpl, err := template.New(path).Option("missingkey=error").
		Funcs(template.FuncMap{"upper": strings.ToUpper, "lower": strings.ToLower}).Parse(string(text))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var b bytes.Buffer
	if err := tpl.Execute(&b, data); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var r recording
	dec := json.NewDecoder(&b)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	entries := map[string]json.RawMessage{"solved": r.Solved, "untouched": r.Untouched, "before_start": r.BeforeStart, "broken": r.Broken}
	for k, e := range r.Fails {
		entries["fails."+k] = e
	}
	for k, e := range r.Passes {
		entries["passes."+k] = e
	}
	for name, e := range entries {
		if e == nil {
			continue
		}
		var entry struct {
			OK        *bool           `json:"ok"`
			Value     json.RawMessage `json:"value"`
			Error     string          `json:"error"`
			ErrorType string          `json:"error_type"`
		}
		d := json.NewDecoder(bytes.NewReader(e))
		d.DisallowUnknownFields()
		if err := d.Decode(&entry); err != nil || entry.OK == nil ||
			(*entry.OK && entry.Error != "") || (!*entry.OK && (entry.Error == "" || entry.ErrorType == "" || entry.Value != nil)) {
			t.Fatalf("%s: %s is not an entry {\"ok\":true,\"value\":...} or {\"ok\":false,\"error\":...,\"error_type\":...} (%v)", path, name, err)
		}
	}
	if r.Solved == nil || len(r.Cmdlets) == 0 {
		t.Fatalf("%s: needs solved and cmdlets", path)
	}
	return r
}

// recordedFiles lists testdata/SUITE/*.json by suite.
func recordedFiles(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	dirs, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if !d.IsDir() || d.Name() == "openwrt" {
			continue
		}
		files, _ := filepath.Glob(filepath.Join("testdata", d.Name(), "*.json"))
		for _, f := range files {
			out[d.Name()] = append(out[d.Name()], strings.TrimSuffix(filepath.Base(f), ".json"))
		}
		sort.Strings(out[d.Name()])
	}
	return out
}
