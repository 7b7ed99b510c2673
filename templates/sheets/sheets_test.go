package sheets_test

import (
	"html"
	"strings"
	"testing"

	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/templates/sheets"
)

type data struct {
	Session, Lab, StartedAt string
	Candidate               labs.Candidate
	Params                  map[string]any
	Faults                  []labs.Fault
}

// TestSheetsRender renders every built-in lab's sheet for a candidate: their own
// values appear, the HTML is escaped.
func TestSheetsRender(t *testing.T) {
	for _, name := range []string{"tpe-local", "ccp2-infra-local"} {
		lab, err := labs.LoadBuiltin(name)
		if err != nil {
			t.Fatal(err)
		}
		c := labs.Candidate{ID: "c07", Index: 7, LastName: "Durand", FirstName: "Zoé <Z>"}
		in, err := lab.Resolve(labs.ResolveInput{Session: "s1", Candidate: c})
		if err != nil {
			t.Fatal(err)
		}
		md, err := sheets.Render(name, data{Session: "s1", Lab: name, StartedAt: "01/06/2026 08:00", Candidate: c,
			Params: in.Params, Faults: lab.FaultsFor("s1", c)})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, p := range []string{"domain", "ou", "user", "share", "dns_name"} {
			if v, ok := in.Params[p]; ok && !strings.Contains(string(md), v.(string)) {
				t.Errorf("%s: the sheet lacks %s = %v", name, p, v)
			}
		}
		page := string(sheets.HTML(name, md))
		if !strings.Contains(page, "Zoé &lt;Z&gt;") || strings.Contains(page, "<Z>") {
			t.Errorf("%s: HTML not escaped", name)
		}
		if name == "ccp2-infra-local" && !strings.Contains(page, "<li>"+html.EscapeString(lab.FaultsFor("s1", c)[0].Description)) {
			t.Errorf("%s: the drawn incident is not on the sheet", name)
		}
	}
}
