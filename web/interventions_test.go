package web_test

import (
	"html"
	"strings"
	"testing"
	"time"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/e2e"
	"github.com/tailab/tailab/web"
)

// TestInterventionsMarked: the grid marks (⚑, with a French title) only the
// candidate whose machines were reset or re-created after the exam opened, and
// the candidate's page lists when (in the centre's time zone), by whom, the
// action and its detail in French; an action before the exam opened, another
// candidate's and a session-wide grading mark nobody.
func TestInterventionsMarked(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	d, err := e2e.Populate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rep := e2e.Grading(e2e.T0.Add(10*time.Minute), false)
	open := rep.StartedAt
	rep.Interventions = []checks.Intervention{
		{Time: open.Add(-time.Hour), User: "admin", Action: "up", Candidate: "c01", Detail: "2 to create, 0 to keep, 0 to replace, 0 to remove"},
		{Time: open.Add(time.Minute), User: "mme.dupont", Action: "reset", Candidate: "c02", Machine: "pc1"},
		{Time: open.Add(2 * time.Minute), User: "mme.dupont", Action: "faults-kept", Candidate: "c02", Machine: "pc1",
			Detail: "reset: dns-client-errone: re-applied, present; disque-plein: repaired before, left"},
		{Time: open.Add(2 * time.Minute), User: "admin", Action: "grade", Detail: "3 candidates"},
	}
	if err := d.Save(rep); err != nil {
		t.Fatal(err)
	}
	cfg := d.Config()
	cfg.Location = paris
	srv, err := web.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := srv.Handler()

	grid := get(t, h, "GET", "/")
	if grid.code != 200 {
		t.Fatalf("GET /: %d", grid.code)
	}
	for _, id := range []string{"c01", "c02", "c10"} {
		row := rowOf(grid.body, id)
		if row == "" {
			t.Fatalf("grid has no row for %s", id)
		}
		if marked := strings.Contains(row, "⚑"); marked != (id == "c02") {
			t.Errorf("row of %s marked %v (only c02 is): %s", id, marked, row)
		}
	}
	if !strings.Contains(html.UnescapeString(grid.body), `<span class="mark" title="Machines remises à l'état initial, restaurées, redémarrées ou recréées après l'ouverture de l'épreuve`) {
		t.Error("the grid's mark has no French title")
	}

	page := get(t, h, "GET", "/c/c02")
	body := html.UnescapeString(page.body)
	at := func(d time.Duration) string { return open.Add(d).In(paris).Format("02/01/2006 15:04:05") }
	for _, want := range []string{
		"⚑ Interventions sur les machines après l'ouverture de l'épreuve",
		"<tr><td>" + at(time.Minute) + "</td><td>mme.dupont</td><td>remise à l'état initial (pc1)</td><td></td></tr>",
		"<tr><td>" + at(2*time.Minute) + "</td><td>mme.dupont</td><td>incidents contrôlés après une intervention (pc1)</td>" +
			"<td>après remise à l'état initial : dns-client-errone réinjecté, vérifié présent ; disque-plein réparé par le candidat, laissé réparé</td></tr>",
	} {
		if page.code != 200 || !strings.Contains(body, want) {
			t.Errorf("GET /c/c02 (%d) lacks %q", page.code, want)
		}
	}
	if strings.Contains(body, "correction") && strings.Contains(body, "3 candidates") {
		t.Error("the candidate's page lists a session-wide grading")
	}
	for _, id := range []string{"c01", "c10"} {
		if b := get(t, h, "GET", "/c/"+id).body; strings.Contains(b, "Interventions sur les machines") || strings.Contains(b, "⚑") {
			t.Errorf("GET /c/%s shows interventions it did not have", id)
		}
	}
}

// rowOf is the grid's row of candidate id.
func rowOf(page, id string) string {
	_, rest, ok := strings.Cut(page, `<tr data-candidate="`+id+`">`)
	if !ok {
		return ""
	}
	row, _, _ := strings.Cut(rest, "</tr>")
	return row
}
