package checks

import (
	"strings"
	"testing"
	"time"

	"github.com/tailab/tailab/checks/referential"
)

func TestApplyJury(t *testing.T) {
	ref := referential.MustLoad(referential.Default)
	at := time.Date(2026, 6, 12, 15, 0, 0, 0, time.UTC)
	base := func() CandidateReport {
		cr := CandidateReport{ID: "c01", Results: []Result{
			{CheckID: "ad.users", Competence: "C2.2", Status: StatusFail, MaxPoints: 4, Critical: true, Evidence: "2 comptes"},
			{CheckID: "ad.ou", Competence: "C2.2", Status: StatusPass, Points: 2, MaxPoints: 2},
			{CheckID: "accueil", Competence: "C3.1", Status: StatusJury, MaxPoints: 3},
			{CheckID: "devis", Competence: "C3.1", Status: StatusJury, MaxPoints: 2},
		}}
		Score(ref, &cr)
		return cr
	}
	cr := base()
	if cr.Points != 0 || cr.MaxPoints != 6 { // C2.2 capped by the critical failure
		t.Fatalf("before: %g/%g", cr.Points, cr.MaxPoints)
	}
	err := ApplyJury(ref, &cr, JuryInput{
		Marks:     map[string]JuryMark{"accueil": {Points: 2.5, Author: "mme.dupont", At: at}, "devis": {Points: 1, Author: "mme.dupont", At: at}},
		Overrides: map[string]Override{"ad.users": {Status: StatusPass, Note: "comptes dans l'OU voisine", Author: "m.martin", At: at}},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Totals = automatic (4 + 2, no more cap) + jury (2.5 + 1).
	if cr.Points != 9.5 || cr.MaxPoints != 11 {
		t.Errorf("after: %g/%g, want 9.5/11", cr.Points, cr.MaxPoints)
	}
	users := cr.Results[0]
	if users.Status != StatusPass || users.Points != 4 || users.Override.OriginalStatus != StatusFail || users.Override.OriginalPoints != 0 || users.Evidence != "2 comptes" {
		t.Errorf("override: %+v %+v", users, users.Override)
	}
	for _, s := range cr.Competences {
		if s.ID == "C3.1" && (s.Points != 3.5 || s.MaxPoints != 5 || s.JuryPoints != 3.5) {
			t.Errorf("C3.1 = %+v", s)
		}
	}
	// Applied twice (a record of a record): the machine's verdict stays the original.
	if err := ApplyJury(ref, &cr, JuryInput{Overrides: map[string]Override{"ad.users": {Status: StatusFail, Note: "revu", Author: "x"}}}); err != nil {
		t.Fatal(err)
	}
	if o := cr.Results[0].Override; o.OriginalStatus != StatusFail || cr.Results[0].Status != StatusFail {
		t.Errorf("re-applied: %+v", o)
	}
	for _, tt := range []struct {
		in   JuryInput
		want string
	}{
		{JuryInput{Marks: map[string]JuryMark{"accueil": {Points: 4}}}, "4 points for accueil, which is worth 3"},
		{JuryInput{Marks: map[string]JuryMark{"ad.ou": {Points: 1}}}, `no jury criterion "ad.ou"`},
		{JuryInput{Overrides: map[string]Override{"accueil": {Status: StatusPass}}}, `no automated check "accueil" to override`},
	} {
		cr := base()
		if err := ApplyJury(ref, &cr, tt.in); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: %v, want %q", tt.in, err, tt.want)
		}
	}
}
