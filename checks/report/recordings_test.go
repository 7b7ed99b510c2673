package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/tailab/tailab/checks"
)

func TestRecordingLines(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 6, 12, 12, 5, 9, 0, time.UTC)
	for _, tc := range []struct {
		d        time.Duration
		size     int64
		duration string
		sz       string
	}{
		{0, 0, "en cours ou interrompu", "0 o"},
		{45*time.Second + 400*time.Millisecond, 532, "45 s", "532 o"},
		{2*time.Minute + 5*time.Second, 12700, "2 min 05 s", "12,4 Ko"},
		{time.Hour + 2*time.Minute + 5*time.Second, 3250585, "1 h 02 min 05 s", "3,1 Mo"},
	} {
		got := RecordingLines([]checks.Recording{{ID: "srv-1", Candidate: "c01", Machine: "srv\x1b[31m", Start: start, Duration: tc.d, Size: tc.size}}, "c01", paris)
		want := RecordingLine{ID: "srv-1", Machine: safeText("srv\x1b[31m"), Start: "12/06/2026 14:05:09 CEST", Duration: tc.duration, Size: tc.sz}
		if len(got) != 1 || got[0] != want {
			t.Errorf("%s, %d bytes: %+v, want %+v", tc.d, tc.size, got, want)
		}
	}
	if got := RecordingLines([]checks.Recording{{ID: "srv-1", Candidate: "c02"}}, "c01", paris); got != nil {
		t.Errorf("c02's recording listed for c01: %+v", got)
	}
}

// TestJuryRecordings: the jury record lists the candidate's recordings only,
// and says nothing of recordings when there are none; it gives the exam
// window.
func TestJuryRecordings(t *testing.T) {
	rep := &checks.Report{Session: "s1", Referential: "tai-2018", FinishedAt: time.Date(2026, 6, 12, 14, 0, 0, 0, time.UTC),
		Candidates: []checks.CandidateReport{{ID: "c01"}, {ID: "c02"}}}
	render := func(id string) string {
		var b bytes.Buffer
		if err := (&Jury{Opts: Options{Location: time.UTC}, Candidates: []string{id}}).Format(&b, rep); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	if strings.Contains(render("c01"), "Enregistrements") {
		t.Error("a record without recordings has a recordings section")
	}
	rep.Recordings = []checks.Recording{
		{ID: "srv-1", Candidate: "c01", Machine: "srv", Start: time.Date(2026, 6, 12, 12, 5, 9, 0, time.UTC), Duration: 125 * time.Second, Size: 900},
		{ID: "pc1-1", Candidate: "c02", Machine: "pc1", Start: time.Date(2026, 6, 12, 12, 6, 0, 0, time.UTC)},
	}
	rep.Interventions = []checks.Intervention{{Action: "session", Detail: "open at 2026-06-12T08:30:00Z"}, {Action: "session", Detail: "close at 2026-06-12T12:30:00Z"}}
	c01 := render("c01")
	if !strings.Contains(c01, "<tr><th>Fenêtre de l’épreuve</th><td colspan=\"3\">ouverte le 12/06/2026 08:30:00 UTC, fermée le 12/06/2026 12:30:00 UTC</td></tr>") {
		t.Errorf("c01's record without the exam window:\n%s", c01)
	}
	if !strings.Contains(c01, "<tr><td>srv</td><td>12/06/2026 12:05:09 UTC</td><td>2 min 05 s</td><td class=\"num\">900 o</td></tr>") || strings.Contains(c01, "pc1") {
		t.Errorf("c01's record:\n%s", c01)
	}
}

// TestExamWindow: the jury record's window is the last opening and closing
// the audit log holds, in the centre's time zone.
func TestExamWindow(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	session := func(detail string) checks.Intervention { return checks.Intervention{Action: "session", Detail: detail} }
	for _, tc := range []struct {
		log  []checks.Intervention
		want string
	}{
		{nil, ""},
		{[]checks.Intervention{{Action: "up", Detail: "open at 2026-06-12T06:30:00Z"}}, ""},
		{[]checks.Intervention{session("open at 2026-06-12T06:30:00Z")}, "ouverte le 12/06/2026 08:30:00 CEST, fermeture non programmée"},
		{[]checks.Intervention{session("open at 2026-06-12T06:00:00Z"), session("close at 2026-06-12T10:00:00Z"),
			session("open at 2026-06-12T06:30:00Z"), session("close at 2026-06-12T10:30:00Z"), session("close at nonsense")},
			"ouverte le 12/06/2026 08:30:00 CEST, fermée le 12/06/2026 12:30:00 CEST"},
		{[]checks.Intervention{session("close at 2026-06-12T10:30:00Z")}, "fermée le 12/06/2026 12:30:00 CEST (ouverture non consignée)"},
	} {
		if got := examWindow(&checks.Report{Interventions: tc.log}, paris); got != tc.want {
			t.Errorf("%v: %q, want %q", tc.log, got, tc.want)
		}
	}
}
