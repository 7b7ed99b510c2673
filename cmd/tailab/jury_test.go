package main

import (
	"context"
	"strings"
	"testing"

	"github.com/tailab/tailab/e2e"
)

// TestJuryMarksAndOverride: the jury marks a criterion and corrects a verdict
// from the CLI; the record and the session's table show the totals
// (automatic + jury), the mark and the correction with author and reason,
// the machine's verdict beside it; the stored grading is not rewritten and
// both entries are in the audit log.
func TestJuryMarksAndOverride(t *testing.T) {
	dir := t.TempDir()
	d, err := e2e.Populate(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	jury := func(args ...string) (string, int) {
		_, stderr, code := runTailab(t, ctx, append([]string{"--data-dir", dir, "jury"}, args...)...)
		return stderr, code
	}
	s := []string{"-s", e2e.Session, "-c", "c02", "--author", "mme.dupont"}
	if stderr, code := jury(append([]string{"set", "support.accueil", "1.5", "--note", "reformulation claire"}, s...)...); code != 0 {
		t.Fatalf("jury set: exit %d %s", code, stderr)
	}
	if stderr, code := jury(append([]string{"override", "ad.users", "--status", "pass", "--note", "comptes créés dans l'OU voisine, accepté"}, s...)...); code != 0 {
		t.Fatalf("jury override: exit %d %s", code, stderr)
	}
	if stderr, code := jury(append([]string{"decide", "CCP3", "non-acquis", "--note", "panne DNS non résolue"}, s...)...); code != 0 {
		t.Fatalf("jury decide: exit %d %s", code, stderr)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"set", "support.accueil", "3"}, "worth 2"},
		{[]string{"set", "ad.users", "1"}, `no jury criterion "ad.users"`},
		{[]string{"set", "support.accueil", "beaucoup"}, "a number"},
		{[]string{"override", "ad.users", "--status", "pass"}, "needs its reason"},
		{[]string{"override", "ad.users", "--status", "maybe", "--note", "x"}, "pass or fail"},
		{[]string{"decide", "CCP1", "acquis"}, "CCP1 is not assessed by this subject for c02: no decision to take (the record offers CCP2, CCP3)"},
		{[]string{"decide", "CCP3", "validé"}, "acquis or non-acquis"},
	} {
		if stderr, code := jury(append(tc.args, s...)...); code != ExitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d %q, want %d %q", tc.args, code, stderr, ExitUsage, tc.want)
		}
	}

	record, stderr, code := runTailab(t, ctx, "--data-dir", dir, "--tz", "Europe/Paris", "report", "-s", e2e.Session, "-c", "c02")
	if code != 0 {
		t.Fatalf("report: exit %d %s", code, stderr)
	}
	for _, want := range []string{
		"<td class=\"num\"><strong>1,5</strong></td><td>Noté par le jury (mme.dupont, ",
		"reformulation claire",
		"Corrigé par le jury (mme.dupont, ",
		"comptes créés dans l&#39;OU voisine, accepté — verdict de la machine : échec 0/4",
		"CEST",                                  // the centre's time zone, printed
		"note du jury support.accueil : 1,5 pt", // the audit log, on the record: French, decimal comma
		"correction du jury ad.users : réussi — ",
		// The decision: the rule's proposal and the jury's, audited.
		"Proposée par la règle : <strong>non acquis</strong>",
		"Retenue par le jury : <strong>non acquis (mme.dupont, ",
		"décision du jury CCP3 : non acquis — panne DNS non résolue",
	} {
		if !strings.Contains(record, want) {
			t.Errorf("record lacks %q", want)
		}
	}
	table, _, _ := runTailab(t, ctx, "--data-dir", dir, "report", "-s", e2e.Session, "-o", "table", "--details")
	if !strings.Contains(table, "Corrigé par le jury") || !strings.Contains(table, "1,5/2 (jury)") {
		t.Errorf("table lacks the jury's entries:\n%s", table)
	}
	keys, err := d.Results.Keys(e2e.Session)
	if err != nil || len(keys) != 1 {
		t.Errorf("gradings %v: the jury's entries must not store a grading", keys)
	}
	g, _ := d.Results.Latest(e2e.Session)
	for _, r := range g.Report.Candidates[1].Results {
		if r.CheckID == "ad.users" && (r.Status != "fail" || r.Override != nil) {
			t.Errorf("the stored grading was rewritten: %+v", r)
		}
	}
}
