package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/tailab/tailab/checks"
)

// TestGridMarksInterventions: the grid (grade -o table) flags a candidate
// whose machines were reset or re-created after the exam opened and lists,
// under it, when, by whom, which command and what became of each fault, in
// French; an action before the exam opened and another candidate's action do
// not mark them.
func TestGridMarksInterventions(t *testing.T) {
	rep := fixture()
	id, other := rep.Candidates[0].ID, rep.Candidates[1].ID
	open := rep.StartedAt
	rep.Interventions = []checks.Intervention{
		{Time: open.Add(-time.Hour), User: "admin", Action: "up", Candidate: other, Detail: "2 to create, 0 to keep, 0 to replace, 0 to remove"},
		{Time: open.Add(30 * time.Minute), User: "admin", Action: "reset", Candidate: id, Machine: "srv"},
		{Time: open.Add(31 * time.Minute), User: "admin", Action: "faults-kept", Candidate: id, Machine: "srv",
			Detail: "reset: dnsmasq-arrete: re-applied, present; disque-plein: repaired before, left; passerelle-erronee: unknown"},
		{Time: open.Add(40 * time.Minute), User: "admin", Action: "grade", Detail: "2 candidates"},
	}
	var b bytes.Buffer
	if err := (&Table{Opts: Options{Location: time.UTC}}).Format(&b, rep); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	rows := map[string]string{} // the grid's row of each candidate
	for _, line := range strings.Split(out, "\n") {
		for _, c := range rep.Candidates {
			if strings.HasPrefix(line, "  "+c.ID+" ") {
				rows[c.ID] = line
			}
		}
	}
	for _, want := range []string{
		"⚑ Interventions sur les machines après l'ouverture de l'épreuve :",
		"remise à l'état initial (srv)",
		"incidents contrôlés après une intervention (srv) : après remise à l'état initial : dnsmasq-arrete réinjecté, vérifié présent ; disque-plein réparé par le candidat, laissé réparé ; passerelle-erronee présence non vérifiée",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("grid lacks %q", want)
		}
	}
	for cid, row := range rows {
		if strings.Contains(row, InterventionMark) != (cid == id) {
			t.Errorf("row of %s: %q (only %s is marked)", cid, row, id)
		}
	}
	if len(rows) != len(rep.Candidates) {
		t.Errorf("%d rows found, want %d", len(rows), len(rep.Candidates))
	}
	if strings.Contains(out, "correction") || strings.Contains(out, "2 à créer") {
		t.Error("the grid lists a grading or an action before the exam opened")
	}
}

// TestFaultsKeptFR: every action exam.Guard and exam.RestorePending name is
// put in French, the replacement of drifted machines included.
func TestFaultsKeptFR(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"snapshot create: disque-plein: present", "après instantané : disque-plein présent"},
		{"down+up: a: re-applied, present", "après recréation des machines : a réinjecté, vérifié présent"},
		{"replace srv: dnsmasq-arrete: re-applied, present; intranet-arrete: repaired before, left",
			"après remplacement de srv (lab modifié) : dnsmasq-arrete réinjecté, vérifié présent ; intranet-arrete réparé par le candidat, laissé réparé"},
		{"replace srv,pc1: a: unknown", "après remplacement de srv, pc1 (lab modifié) : a présence non vérifiée"},
		{"replace: a: re-applied, absent", "après remplacement des machines (lab modifié) : a réinjecté mais absent (à vérifier)"},
		{"restart srv: disque-plein: re-applied, present", "après redémarrage de srv (trouvée arrêtée) : disque-plein réinjecté, vérifié présent"},
		{"snapshot revert: droits-partage: repaired before, present after (the state restored)",
			"après retour à un instantané : droits-partage réparé par le candidat, présent dans l'état restauré"},
	} {
		if got := interventionDetail(checks.Intervention{Action: "faults-kept", Detail: tc.in}, time.UTC); got != tc.want {
			t.Errorf("faultsKeptFR(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

// TestExamOpened: the exam opens at the window's first opening, else at the
// session's first up, else at the grading's start. A reset after the opening
// but before this grading marks the candidate (the walk of exam day found the
// grid silent: it compared with the grading's start, so a reset done before
// `grade` never showed).
func TestExamOpened(t *testing.T) {
	grading := time.Date(2026, 6, 12, 11, 0, 0, 0, time.UTC)
	up := grading.Add(-3 * time.Hour)
	opens := grading.Add(-2 * time.Hour)
	reset := checks.Intervention{Time: grading.Add(-time.Hour), User: "admin", Action: "reset", Candidate: "c01", Machine: "pc1"}
	early := checks.Intervention{Time: up.Add(30 * time.Minute), User: "admin", Action: "reset", Candidate: "c01", Machine: "srv"}
	sessionUp := checks.Intervention{Time: up, User: "admin", Action: "up", Detail: "8 to create"}
	open := checks.Intervention{Time: up.Add(50 * time.Minute), User: "admin", Action: "session", Detail: "open at " + opens.Format(time.RFC3339)}
	reopen := checks.Intervention{Time: grading, User: "admin", Action: "session", Detail: "open at " + grading.Add(time.Hour).Format(time.RFC3339)}
	for _, tc := range []struct {
		name   string
		log    []checks.Intervention
		want   time.Time
		marked []string // machines of c01's interventions that mark them
	}{
		{"window", []checks.Intervention{sessionUp, early, open, reset, reopen}, opens, []string{"pc1"}},
		{"no window: the first up", []checks.Intervention{sessionUp, early, reset}, up, []string{"srv", "pc1"}},
		{"no log: the grading", []checks.Intervention{reset}, grading.Add(-time.Nanosecond), nil},
	} {
		r := &checks.Report{StartedAt: grading, Interventions: tc.log}
		if got := ExamOpened(r); !got.Equal(tc.want) {
			t.Errorf("%s: opened %v, want %v", tc.name, got, tc.want)
		}
		var marked []string
		for _, in := range rebuildsAfterStart(r, "c01") {
			marked = append(marked, in.Machine)
		}
		if strings.Join(marked, ",") != strings.Join(tc.marked, ",") {
			t.Errorf("%s: marked by %v, want %v", tc.name, marked, tc.marked)
		}
	}
}
