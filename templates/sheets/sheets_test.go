package sheets_test

import (
	"fmt"
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

// TestSheetsRender renders every built-in lab's sheet for a candidate, as
// `tailab sheets` does: their own values and their drawn incidents appear, the
// HTML is escaped.
func TestSheetsRender(t *testing.T) {
	for _, tc := range []struct {
		lab    string
		params []string                      // parameters whose value the sheet states
		also   func(p map[string]any) string // a value the sheet composes from them
		faults bool                          // the drawn faults' descriptions are listed
	}{
		{lab: "tpe-local", params: []string{"domain", "server_ip"}},
		{lab: "ccp2-infra-local", params: []string{"domain", "ou", "user", "share", "dns_name"}, faults: true},
		{lab: "ccp3-support-local", params: []string{"domain", "site", "share", "ticket", "requester", "computer", "user"}, faults: true,
			also: func(p map[string]any) string { return fmt.Sprintf("sh /srv/helpdesk/helpdesk show %v", p["ticket"]) }},
		{lab: "ccp1-poste-local",
			params: []string{"domain", "site", "num", "ip", "user", "printer", "share", "metier",
				"disk_label", "mount_point", "backup_dir", "backup_hour"},
			also: func(p map[string]any) string { return fmt.Sprintf("PC-%v-%v", p["site"], p["num"]) }},
	} {
		t.Run(tc.lab, func(t *testing.T) {
			lab, err := labs.LoadBuiltin(tc.lab)
			if err != nil {
				t.Fatal(err)
			}
			c := labs.Candidate{ID: "c07", Index: 7, LastName: "Durand", FirstName: "Zoé <Z>"}
			in, err := lab.Resolve(labs.ResolveInput{Session: "s1", Candidate: c})
			if err != nil {
				t.Fatal(err)
			}
			scen, err := lab.ResolveScenario(labs.ResolveInput{Session: "s1", Candidate: c})
			if err != nil {
				t.Fatal(err)
			}
			md, err := sheets.Render(tc.lab, data{Session: "s1", Lab: tc.lab, StartedAt: "01/06/2026 08:00", Candidate: c,
				Params: in.Params, Faults: scen.Drawn})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range tc.params {
				v, ok := in.Params[p]
				if !ok {
					t.Errorf("the lab has no parameter %s", p)
				} else if !strings.Contains(string(md), fmt.Sprint(v)) {
					t.Errorf("the sheet lacks %s = %v", p, v)
				}
			}
			if tc.also != nil && !strings.Contains(string(md), tc.also(in.Params)) {
				t.Errorf("the sheet lacks %q", tc.also(in.Params))
			}
			page := string(sheets.HTML(tc.lab, "DURAND Zoé \"<Z>\" — n° c07", md))
			if !strings.Contains(page, `@top-left{content:"DURAND Zoé \22 \3c Z\3e \22  — n° c07"`) {
				t.Errorf("no running header (or not escaped) in %.600s", page)
			}
			if !strings.Contains(string(md), "**Candidat :** DURAND Zoé <Z> (c07)") {
				t.Errorf("the name is not written NOM Prénom: %.300s", md)
			}
			if !strings.Contains(page, "Zoé &lt;Z&gt;") || strings.Contains(page, "<Z>") {
				t.Errorf("HTML not escaped")
			}
			if tc.faults && len(scen.Drawn) == 0 {
				t.Errorf("no fault drawn")
			}
			for _, f := range scen.Drawn {
				if tc.faults && !strings.Contains(page, "<li>"+html.EscapeString(f.Description)) {
					t.Errorf("the drawn incident %s is not on the sheet: %q", f.Name, f.Description)
				}
			}
			if strings.Contains(string(md), "{{") || strings.Contains(string(md), "<no value>") {
				t.Errorf("unrendered template text on the sheet")
			}
		})
	}
}
