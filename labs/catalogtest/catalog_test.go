package catalogtest

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tailab/tailab/checks/referential"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/templates/sheets"
)

// imageCatalog are the base images the real-exam labs name, each documented in
// docs/base-images.md.
var imageCatalog = map[string]string{
	"win10-fr-base":        labs.OSWindows,
	"win11-fr-base":        labs.OSWindows,
	"winsrv2019-fr-base":   labs.OSWindows,
	"winsrv2022-fr-base":   labs.OSWindows,
	"winsrv2022-fr-deploy": labs.OSWindows,
	"openwrt-23.05-x86-64": labs.OSNetwork,
}

// ccpOf is the CCP each real-exam lab is the exam of.
var ccpOf = map[string]string{"ccp1-poste": "CCP1", "ccp2-infra": "CCP2", "ccp3-support": "CCP3"}

// TestRealLabsLoad: every real-exam lab is in the catalog, loads, validates,
// resolves for several candidates, and its suites load with the real probes,
// their machines and faults checked against the lab.
func TestRealLabsLoad(t *testing.T) {
	entries, err := labs.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, e := range entries {
		listed = append(listed, e.Name)
	}
	doc, err := os.ReadFile("../../docs/base-images.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range realLabs {
		t.Run(name, func(t *testing.T) {
			if !slices.Contains(listed, name) {
				t.Fatalf("%s is not listed by the catalog (%v)", name, listed)
			}
			f := loadLab(t, name)
			if f.lab.Description == "" || f.lab.Referential != "tai-2018" {
				t.Errorf("description %q, referential %q", f.lab.Description, f.lab.Referential)
			}
			if len(f.suites) == 0 {
				t.Fatal("no suites")
			}
			for _, m := range f.inst.Machines {
				imageOS, ok := imageCatalog[m.Image]
				switch {
				case m.Kind != labs.KindVM:
					t.Errorf("%s: kind %s, want vm", m.Name, m.Kind)
				case !ok:
					t.Errorf("%s: image %q is not in the image catalog of docs/base-images.md", m.Name, m.Image)
				case imageOS != m.OS:
					t.Errorf("%s: image %s is a %s image, the machine is %s", m.Name, m.Image, imageOS, m.OS)
				}
				if !strings.Contains(string(doc), "`"+m.Image+"`") {
					t.Errorf("%s: image %s is not documented in docs/base-images.md", m.Name, m.Image)
				}
				switch m.OS {
				case labs.OSWindows:
					if m.Firmware != "uefi" || !m.Ready.WinRM || m.Credentials["winrm"].Password == "" || m.Memory.MiB() < 2048 {
						t.Errorf("%s: a Windows machine needs UEFI, WinRM readiness and credentials, 2 GiB: %+v", m.Name, m)
					}
				case labs.OSNetwork:
					if !m.Ready.SSH || m.Credentials["ssh"].Key == "" || m.Firmware != "bios" {
						t.Errorf("%s: an OpenWrt machine needs SSH readiness, a key and a BIOS: %+v", m.Name, m)
					}
				default:
					t.Errorf("%s: os %s", m.Name, m.OS)
				}
			}
			// Per-candidate values: neighbours draw their own names and plans.
			other, err := f.lab.Resolve(labs.ResolveInput{Session: sessionID, Candidate: labs.Candidate{ID: "c02", Index: 2}})
			if err != nil {
				t.Fatal(err)
			}
			for k, p := range f.lab.Parameters {
				if p.Distinct && fmt.Sprint(f.inst.Params[k]) == fmt.Sprint(other.Params[k]) {
					t.Errorf("distinct parameter %s: both candidates drew %v", k, other.Params[k])
				}
			}
			// Every check and jury item has a French title; the lab's competences
			// are its CCP's, every one of them covered.
			ref := referential.MustLoad("tai-2018")
			covered := map[string]bool{}
			for _, s := range f.suites {
				for _, c := range s.Checks {
					covered[c.Competence] = true
					frenchTitle(t, s.Name+"/"+c.ID, c.Title)
				}
				for _, j := range s.Jury {
					covered[j.Competence] = true
					frenchTitle(t, s.Name+"/"+j.ID, j.Title)
				}
			}
			for _, c := range ref.Competences() {
				if c.CCP == ccpOf[name] && !covered[c.ID] {
					t.Errorf("competence %s (%s) is neither checked nor left to the jury", c.ID, c.Title)
				}
			}
		})
	}
}

var frenchWord = regexp.MustCompile(`(?i)\b(le|la|les|l'|du|des|un|une|est|sont|et|au|aux|par|pour|sur|dans)\b`)

func frenchTitle(t *testing.T, id, title string) {
	t.Helper()
	if strings.TrimSpace(title) == "" || !frenchWord.MatchString(title) {
		t.Errorf("%s: title %q is not a French sentence", id, title)
	}
}

// TestRealLabsCoverTheTitle: the three real-exam labs together grade every
// competence of the title, by a machine check or a jury item.
func TestRealLabsCoverTheTitle(t *testing.T) {
	ref := referential.MustLoad("tai-2018")
	machine, jury := map[string]int{}, map[string]int{}
	for _, name := range realLabs {
		f := loadLab(t, name)
		for _, s := range f.suites {
			for _, c := range s.Checks {
				if c.Points > 0 {
					machine[c.Competence]++
				}
			}
			for _, j := range s.Jury {
				jury[j.Competence]++
			}
		}
	}
	for _, c := range ref.Competences() {
		if machine[c.ID]+jury[c.ID] == 0 {
			t.Errorf("%s %s: graded by no lab", c.ID, c.Title)
		}
		t.Logf("%s: %d machine checks, %d jury items", c.ID, machine[c.ID], jury[c.ID])
	}
}

// TestRealLabsScenario: faults and reference solutions render for several
// candidates, over the transports the model accepts (winrm, ldap, ssh for
// OpenWrt), with one fault drawn per group.
func TestRealLabsScenario(t *testing.T) {
	for _, name := range realLabs {
		t.Run(name, func(t *testing.T) {
			lab, err := labs.LoadBuiltin(name)
			if err != nil {
				t.Fatal(err)
			}
			oses := map[string]string{}
			for _, m := range lab.Machines {
				oses[m.Name] = m.OS
			}
			for i := 1; i <= 5; i++ {
				c := labs.Candidate{ID: fmt.Sprintf("c%02d", i), Index: i}
				sc, err := lab.ResolveScenario(labs.ResolveInput{Session: sessionID, Candidate: c})
				if err != nil {
					t.Fatal(err)
				}
				if sc.Solution == nil || len(sc.Solution.Steps) == 0 {
					t.Fatal("no reference solution")
				}
				steps := append([]labs.Step(nil), sc.Solution.Steps...)
				for _, f := range sc.Faults {
					steps = append(steps, f.Step())
					if f.Description == "" || f.Title == "" {
						t.Errorf("fault %s: the sheet needs its description, the jury its title", f.Name)
					}
				}
				for _, st := range steps {
					tr := st.StepTransport()
					want := map[string][]string{labs.OSWindows: {"winrm", "ldap"}, labs.OSNetwork: {"ssh"}}[oses[st.Machine]]
					if !slices.Contains(want, tr) {
						t.Errorf("step %s on %s (%s) over %s", st.Name, st.Machine, oses[st.Machine], tr)
					}
					if strings.Contains(st.Run, "{{") || strings.Contains(st.Run, "<no value>") {
						t.Errorf("step %s: unrendered template:\n%s", st.Name, st.Run)
					}
				}
				groups := map[string]int{}
				for _, f := range lab.Faults {
					if f.Group != "" {
						groups[f.Group]++
					}
				}
				drawn := map[string]int{}
				for _, f := range sc.Drawn {
					drawn[f.Group]++
				}
				for g := range groups {
					if drawn[g] != 1 {
						t.Errorf("%s: %d faults drawn in group %s", c.ID, drawn[g], g)
					}
				}
				if len(sc.StepsFor(sc.Drawn)) == 0 {
					t.Errorf("%s: no step for the drawn faults", c.ID)
				}
			}
		})
	}
}

// sheetData is what `tailab sheets` renders a statement with.
type sheetData struct {
	Session, Lab, StartedAt string
	Candidate               labs.Candidate
	Params                  map[string]any
	Faults                  []labs.Fault
}

// TestRealLabsSheets: each real-exam lab has a candidate's statement that
// renders with the candidate's own values and drawn incidents.
func TestRealLabsSheets(t *testing.T) {
	for _, name := range realLabs {
		t.Run(name, func(t *testing.T) {
			if !sheets.Has(name) {
				t.Fatalf("no templates/sheets/%s.md", name)
			}
			lab, err := labs.LoadBuiltin(name)
			if err != nil {
				t.Fatal(err)
			}
			for i := 1; i <= 3; i++ {
				c := labs.Candidate{ID: fmt.Sprintf("c%02d", i), Index: i, LastName: "Durand", FirstName: "Zoé <Z>"}
				in, err := lab.Resolve(labs.ResolveInput{Session: sessionID, Candidate: c})
				if err != nil {
					t.Fatal(err)
				}
				sc, err := lab.ResolveScenario(labs.ResolveInput{Session: sessionID, Candidate: c})
				if err != nil {
					t.Fatal(err)
				}
				md, err := sheets.Render(name, sheetData{Session: sessionID, Lab: name, StartedAt: "01/06/2026 08:00",
					Candidate: c, Params: in.Params, Faults: sc.Drawn})
				if err != nil {
					t.Fatal(err)
				}
				text := string(md)
				for k, p := range lab.Parameters {
					if p.Value != nil && k != "admin_password" && k != "user_password" {
						continue // constants: the sheet states those it needs
					}
					if v := fmt.Sprint(in.Params[k]); !strings.Contains(text, v) {
						t.Errorf("%s: the sheet lacks %s = %s", c.ID, k, v)
					}
				}
				for _, f := range sc.Drawn {
					if !strings.Contains(text, f.Description) {
						t.Errorf("%s: the drawn incident %q is not on the sheet", c.ID, f.Description)
					}
				}
				page := string(sheets.HTML(name, c.FullName(), md))
				if !strings.Contains(page, "Zoé &lt;Z&gt;") || strings.Contains(page, "<Z>") {
					t.Errorf("%s: HTML not escaped", c.ID)
				}
			}
		})
	}
}
