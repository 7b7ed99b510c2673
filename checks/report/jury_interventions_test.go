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
		{Time: at, User: "admin", Action: "up", Detail: "12 to create"},
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
	for _, want := range []string{"Interventions sur le lab", "<td>reset</td><td>srv</td>", "12 to create"} {
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
