package exam

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/internal/yamlx"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
)

// ccp3Session stores a session of the built-in ccp3-support-local lab with
// three candidates and returns the state, the session and its lab.
func ccp3Session(t *testing.T) (*provision.State, *provision.Session, *labs.Lab) {
	t.Helper()
	src, err := labs.BuiltinSource("ccp3-support-local")
	if err != nil {
		t.Fatal(err)
	}
	st, err := provision.OpenState(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sess := &provision.Session{Name: "s1", Lab: "ccp3-support-local", LabSource: "catalog:ccp3-support-local",
		LabYAML: string(src), Provider: "libvirt", StartedAt: time.Now(),
		Candidates: []labs.Candidate{{ID: "c01", Index: 1}, {ID: "c02", Index: 2}, {ID: "c03", Index: 3}}}
	if err := st.SaveSession(sess); err != nil {
		t.Fatal(err)
	}
	lab, err := sess.LoadLab()
	if err != nil {
		t.Fatal(err)
	}
	return st, sess, lab
}

// TestGradeDrawnFaults grades the ccp3 suites for candidates whose faults `up`
// recorded: c01 drew one fault per group (as up draws them), c02 every fault (as
// verify applies them), c03 none recorded (a session from before faults were
// recorded). c01's checks of the faults it did not draw are not applicable and
// its maximum counts only its own incidents; c02 and c03 are graded on everything.
func TestGradeDrawnFaults(t *testing.T) {
	st, sess, lab := ccp3Session(t)
	drawn := lab.FaultsFor(sess.Name, sess.Candidates[0])
	if len(drawn) != 4 {
		t.Fatalf("c01 drew %d faults, want one per group (4)", len(drawn))
	}
	for id, fs := range map[string][]labs.Fault{"c01": drawn, "c02": lab.Faults} {
		rec := provision.FaultRecord{At: time.Now()}
		for _, f := range fs {
			rec.Faults = append(rec.Faults, f.Name)
		}
		if err := st.RecordFaults(sess.Name, id, rec); err != nil {
			t.Fatal(err)
		}
	}
	suites, err := LoadSuites(BuiltinChecks(lab), Probes())
	if err != nil {
		t.Fatal(err)
	}
	cands, _, err := Bind(st, sess, lab, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c := cands[0]; !c.FaultsKnown || len(c.Faults) != 4 || c.Faults[0].Name != drawn[0].Name || c.Faults[0].Title != drawn[0].Title {
		t.Errorf("c01 faults = %v (known %v), want %v", c.Faults, c.FaultsKnown, FaultNames(drawn))
	}
	if c := cands[2]; c.FaultsKnown || c.Faults != nil {
		t.Errorf("c03 faults = %v (known %v), want unknown", c.Faults, c.FaultsKnown)
	}
	// Which check repairs which fault, from the suites themselves.
	checkOf := map[string]string{}
	for _, s := range suites {
		for _, c := range s.Checks {
			if c.When != nil {
				if len(c.When.AnyFault) != 1 {
					t.Fatalf("%s: when %v", c.ID, c.When.AnyFault)
				}
				checkOf[c.When.AnyFault[0]] = c.ID
			}
		}
	}
	if len(checkOf) != len(lab.Faults) {
		t.Fatalf("checks conditioned on %d faults, the lab has %d: %v", len(checkOf), len(lab.Faults), checkOf)
	}
	// A cancelled context: nothing is observed (applicable checks end in error),
	// checks that do not apply are decided before observing.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rep, err := (&checks.Runner{Registry: Probes()}).Run(ctx, checks.Session{ID: sess.Name, Lab: lab.Name}, suites, cands)
	if !errors.Is(err, context.Canceled) || rep == nil {
		t.Fatalf("run: %v", err)
	}
	mine := map[string]bool{}
	for _, f := range drawn {
		mine[checkOf[f.Name]] = true
	}
	for _, cr := range rep.Candidates {
		var na []string
		for _, r := range cr.Results {
			if r.Status == checks.StatusNA {
				na = append(na, r.CheckID)
				if r.Points != 0 || !strings.HasPrefix(r.Message, "sans objet : l'incident « ") {
					t.Errorf("%s/%s: %+v", cr.ID, r.CheckID, r)
				}
			}
		}
		sort.Strings(na)
		var want []string
		var max float64
		if cr.ID == "c01" {
			for _, f := range lab.Faults {
				if !mine[checkOf[f.Name]] {
					want = append(want, checkOf[f.Name])
				}
			}
			sort.Strings(want)
			max = 4*2 + 3 // four repair checks of 2 points, the intervention report (3), guards 0
		} else {
			max = 9*2 + 3
		}
		if strings.Join(na, ",") != strings.Join(want, ",") {
			t.Errorf("%s: not applicable %v, want %v", cr.ID, na, want)
		}
		if cr.MaxPoints != max || cr.Counts.NA != len(want) {
			t.Errorf("%s: max %g (want %g), counts %+v", cr.ID, cr.MaxPoints, max, cr.Counts)
		}
		if (cr.ID == "c01") != (len(cr.Faults) == 4) || (cr.ID == "c02") != (len(cr.Faults) == 9) {
			t.Errorf("%s: report faults %v", cr.ID, cr.Faults)
		}
	}
}

// TestLoadLabSuitesUnknownFault: a `when` naming a fault the lab does not
// declare stops the grading (exit 4) at its position, with the closest name.
func TestLoadLabSuitesUnknownFault(t *testing.T) {
	dir := t.TempDir()
	labYAML := `name: when-lab
secrets: {key: {ssh_key: true}}
networks: [{name: lan, cidr: 10.20.0.0/24}]
machines:
  - {name: srv, role: server, kind: container, os: linux, memory: 64MiB, nics: [{network: lan, address: 10.20.0.10}],
     credentials: {ssh: {user: root, key: key}}}
faults:
  - {name: dnsmasq-arrete, machine: srv, run: "true"}
checks: [suite.yaml]
`
	suite := `name: s
checks:
  - id: dns
    title: DNS
    competence: C3.4
    machine: srv
    when: {fault: dnsmaq-arrete}
    probe: {type: tcp, port: 53}
    expect: {open: true}
`
	for f, s := range map[string]string{"lab.yaml": labYAML, "suite.yaml": suite} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	lab, err := labs.Open(filepath.Join(dir, "lab.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = LoadSuites(lab, Probes())
	want := filepath.Join(dir, "suite.yaml") + `:7:19: checks[0].when.fault: unknown fault "dnsmaq-arrete" (did you mean "dnsmasq-arrete"?)`
	var diags yamlx.Diagnostics
	if err == nil || err.Error() != want || !errors.As(err, &diags) {
		t.Errorf("err = %v, want diagnostics (exit 4): %s", err, want)
	}
}

// TestPrintDraws: up --dry-run shows each candidate's draw, seat by seat,
// neighbours with different fault sets (ccp3-support-local's groups are
// distinct), and the parameters each draws, as the lab resolves them.
func TestPrintDraws(t *testing.T) {
	_, sess, lab := ccp3Session(t)
	var b strings.Builder
	if err := PrintDraws(&b, sess); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, "FAULTS") || !strings.Contains(out, "PARAMETERS") {
		t.Fatalf("no FAULTS or PARAMETERS column:\n%s", out)
	}
	t.Logf("\n%s", out)
	prev := ""
	for _, c := range sess.Candidates {
		drawn := FaultNames(lab.FaultsFor(sess.Name, c))
		if !strings.Contains(out, c.ID+"  ") || !strings.Contains(out, drawn) {
			t.Errorf("%s's draw %q not shown:\n%s", c.ID, drawn, out)
		}
		in, err := lab.Resolve(labs.ResolveInput{Session: sess.Name, Candidate: c})
		if err != nil {
			t.Fatal(err)
		}
		for _, kv := range []string{"share=" + fmt.Sprint(in.Params["share"]) + "*", "computer=" + fmt.Sprint(in.Params["computer"]) + " "} {
			if !strings.Contains(out, drawn+"  ") || !strings.Contains(out, kv) {
				t.Errorf("%s's parameter %q not shown:\n%s", c.ID, kv, out)
			}
		}
		if drawn == prev {
			t.Errorf("%s draws the set of the seat before: %s", c.ID, drawn)
		}
		prev = drawn
	}
}
