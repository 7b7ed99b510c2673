package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/tailab/tailab/checks"
)

// TestJuryListsInterventions: the jury record of a candidate shows the session's
// interventions on that candidate's lab and on the whole session, not another
// candidate's, and the evidence digest does not depend on them.
func TestJuryListsInterventions(t *testing.T) {
	rep := fixture()
	id := rep.Candidates[0].ID
	other := rep.Candidates[1].ID
	before, err := EvidenceDigest(rep, id)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 6, 12, 10, 30, 0, 0, time.UTC)
	rep.Interventions = []checks.Intervention{
		{Time: at, User: "admin", Action: "up", Detail: "12 to create, 0 to keep, 1 to replace, 0 to remove"},
		{Time: at.Add(30 * time.Minute), User: "admin", Action: "snapshot", Candidate: id, Machine: "pc1", Detail: "create avant-panne"},
		{Time: at.Add(40 * time.Minute), User: "admin", Action: "revert", Candidate: id, Machine: "pc1", Detail: "failed after 2.5s: domain not found"},
		{Time: at.Add(time.Hour), User: "admin", Action: "reset", Candidate: id, Machine: "srv"},
		{Time: at.Add(2 * time.Hour), User: "admin", Action: "revert", Candidate: other, Machine: "pc1", Detail: "secret-other"},
	}
	after, err := EvidenceDigest(rep, id)
	if err != nil {
		t.Fatal(err)
	}
	if before != after {
		t.Error("interventions changed the evidence digest")
	}
	var b bytes.Buffer
	if err := (&Jury{Candidates: []string{id}}).Format(&b, rep); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{"Interventions sur le lab", "<td>remise à l&#39;état initial</td><td>srv</td>",
		"<td>mise en place du lab</td><td></td><td>admin</td><td>12 à créer, 0 à garder, 1 à remplacer, 0 à supprimer</td>",
		"<td>instantané</td><td>pc1</td><td>admin</td><td>création de l&#39;instantané avant-panne</td>",
		"<td>retour à un instantané</td><td>pc1</td><td>admin</td><td>échec après 2,5 s : domain not found</td>"} {
		if !strings.Contains(page, want) {
			t.Errorf("jury record lacks %q", want)
		}
	}
	if strings.Contains(page, "secret-other") {
		t.Error("jury record shows another candidate's intervention")
	}
	rep.Interventions = nil
	b.Reset()
	if err := (&Jury{Candidates: []string{id}}).Format(&b, rep); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "Interventions sur le lab") {
		t.Error("an empty interventions section is shown")
	}
}
