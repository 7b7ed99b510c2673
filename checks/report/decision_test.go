package report

import (
	"strings"
	"testing"
	"time"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/checks/referential"
)

func candidateOf(t *testing.T, r *checks.Report, id string) *checks.CandidateReport {
	t.Helper()
	for i := range r.Candidates {
		if r.Candidates[i].ID == id {
			return &r.Candidates[i]
		}
	}
	t.Fatalf("no candidate %s in the fixture", id)
	return nil
}

// TestProposals: the rule set by the lab or the session (threshold, critical
// checks, per CCP or for all) proposes each assessed CCP's decision, saying
// whose rule it is.
func TestProposals(t *testing.T) {
	lab := func(r checks.DecisionRules) *checks.DecisionRules { r.Source = "lab"; return &r }
	for _, tc := range []struct {
		name  string
		rules *checks.DecisionRules
		want  []string // CCP: decision (why)
	}{
		{"default", nil, []string{
			"CCP2: non acquis (vérification critique échouée en C2.2)",
			"CCP3: non acquis (25,0 % < 50,0 %)"}},
		{"lab-wide threshold", lab(checks.DecisionRules{Default: &checks.DecisionRule{Threshold: 20}}), []string{
			"CCP2: non acquis (vérification critique échouée en C2.2)",
			"CCP3: acquis (25,0 % ≥ 20,0 % (règle du lab))"}},
		{"per CCP, a critical check", lab(checks.DecisionRules{Default: &checks.DecisionRule{Threshold: 20},
			CCPs: map[string]checks.DecisionRule{"CCP3": {Threshold: 10, Critical: []string{"fault.dns-client"}}}}), []string{
			"CCP2: non acquis (vérification critique échouée en C2.2)",
			"CCP3: non acquis (vérification critique fault.dns-client échouée (règle du lab))"}},
		{"a critical check that passed", &checks.DecisionRules{Source: "session",
			CCPs: map[string]checks.DecisionRule{"CCP3": {Threshold: 25, Critical: []string{"fault.ticket-cause"}}}}, []string{
			"CCP2: non acquis (vérification critique échouée en C2.2)",
			"CCP3: acquis (25,0 % ≥ 25,0 % (règle de la session))"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := fixture()
			r.Decision = tc.rules
			var got []string
			for _, p := range Proposals(r, candidateOf(t, r, "cand-2")) {
				got = append(got, p.CCP+": "+p.Decision+" ("+p.Why+")")
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("proposals:\n%s\nwant (CCP1 is not assessed for cand-2):\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// TestJuryDecisionOnRecord: the jury's decision stands beside the rule's on
// the record, with its author, date and note, in place of the boxes to tick.
func TestJuryDecisionOnRecord(t *testing.T) {
	r := fixture()
	c := candidateOf(t, r, "cand-2")
	at := time.Date(2026, 6, 12, 16, 30, 0, 0, time.UTC)
	in := checks.JuryInput{Decisions: map[string]checks.JuryDecision{
		"CCP3": {Decision: checks.DecisionAcquired, Note: "diagnostic oral convaincant", Author: "Mme Martin", At: at}}}
	if err := checks.ApplyJury(referential.MustLoad(r.Referential), c, in); err != nil {
		t.Fatal(err)
	}
	page := string(renderJury(t, r, "cand-2"))
	for _, want := range []string{
		"Proposée par la règle : <strong>non acquis</strong> (25,0 % &lt; 50,0 %)</span><br>Retenue par le jury : <strong>acquis (Mme Martin, 12/06/2026 16:30:00 UTC) — diagnostic oral convaincant</strong>",
		"Proposée par la règle : <strong>non acquis</strong> (vérification critique échouée en C2.2)</span><br><span class=\"choice\">☐ acquis</span>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("record lacks %q", want)
		}
	}
	for _, bad := range []checks.JuryInput{
		{Decisions: map[string]checks.JuryDecision{"CCP9": {Decision: checks.DecisionAcquired}}},
		{Decisions: map[string]checks.JuryDecision{"CCP3": {Decision: "validé"}}},
	} {
		if err := checks.ApplyJury(nil, candidateOf(t, fixture(), "cand-2"), bad); err == nil {
			t.Errorf("ApplyJury(%v) accepted", bad.Decisions)
		}
	}
}
