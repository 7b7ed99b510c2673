package exam

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/results"
)

// TestWriteRecordsRecordings: the jury records WriteRecords writes list each
// candidate's own terminal recordings (start in loc), and the exam window.
func TestWriteRecordsRecordings(t *testing.T) {
	dir := t.TempDir()
	st, err := provision.OpenState(dir)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 6, 12, 8, 5, 9, 0, time.UTC)
	rs := results.OnStore(st.Store())
	for _, r := range []checks.Recording{
		{ID: "srv-1", Candidate: "c01", Machine: "srv", Start: start, Duration: 90 * time.Second, Size: 2048},
		{ID: "pc1-1", Candidate: "c02", Machine: "pc1", Start: start},
	} {
		if err := rs.SaveRecording("s1", r); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Audit("s1", provision.AuditEntry{Action: "session", Detail: "open at 2026-06-12T08:00:00Z"}); err != nil {
		t.Fatal(err)
	}
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	rep := &checks.Report{Session: "s1", Lab: "tpe-local", Referential: "tai-2018", FinishedAt: start.Add(time.Hour),
		Candidates: []checks.CandidateReport{{ID: "c01", Index: 1}, {ID: "c02", Index: 2}}}
	recs, err := WriteRecords(t.TempDir(), st, rep, paris)
	if err != nil {
		t.Fatal(err)
	}
	c01, err := os.ReadFile(recs.Jury[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<td>srv</td><td>12/06/2026 10:05:09 CEST</td><td>1 min 30 s</td>", "ouverte le 12/06/2026 10:00:00 CEST, fermeture non programmée"} {
		if !strings.Contains(string(c01), want) {
			t.Errorf("c01's record lacks %q", want)
		}
	}
	if strings.Contains(string(c01), "<td>pc1</td>") {
		t.Error("c01's record lists c02's recording")
	}
}
