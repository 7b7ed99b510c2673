package labs

import (
	"strings"
	"testing"
)

const scenarioLab = `name: s
secrets: {k: {ssh_key: true}}
parameters:
  d: {pick: [a.lan, b.lan]}
networks: [{name: lan, cidr: 10.0.0.0/24}]
defaults: {kind: container, os: linux, credentials: {ssh: {user: root, key: k}}}
machines:
  - {name: srv, role: server, nics: [{network: lan, address: 10.0.0.10}]}
faults:
  - {name: f1, group: g, machine: srv, run: "echo {{ .Params.d }}"}
  - {name: f2, group: g, machine: srv, run: "true"}
  - {name: f3, machine: srv, run: "true"}
`

// Faults and steps share the Action keys; each keeps its own: a fault cannot
// say `restarts:` or `fault:`, a step cannot say `group:` or `description:`,
// each refused at its file:line:col.
func TestActionKeysStayTheirs(t *testing.T) {
	lab := strings.Replace(scenarioLab, `  - {name: f3, machine: srv, run: "true"}`,
		`  - {name: f3, machine: srv, run: "true", restarts: true, fault: f1}`, 1) + `solution:
  steps:
    - {name: a, machine: srv, run: "true", group: g, description: x}
`
	_, err := Load("lab.yaml", []byte(lab))
	if err == nil {
		t.Fatal("no error")
	}
	for _, w := range []string{
		"lab.yaml:12:43: faults[2].restarts: unknown field (valid: description, distinct, group, machine, name, present, run, timeout, title, transport, volatile)",
		"lab.yaml:12:59: faults[2].fault: unknown field",
		"lab.yaml:15:44: solution.steps[0].group: unknown field (valid: fault, machine, name, restarts, run, timeout, title, transport)",
		"lab.yaml:15:54: solution.steps[0].description: unknown field",
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("diagnostics lack %q:\n%s", w, err)
		}
	}
}

func TestScenarioValidation(t *testing.T) {
	tests := []struct {
		name, extra string
		want        []string // substrings of the diagnostics, in order
	}{
		{"ok", `solution:
  baseline: [x]
  steps:
    - {name: a, machine: srv, run: "echo {{ .Params.d }}"}
    - {name: b, machine: srv, fault: f1, run: "true"}
`, nil},
		{"mistakes", `solution:
  steps:
    - {name: a, machine: svr, run: "true"}
    - {name: a, machine: srv, transport: telnet, run: ""}
    - {name: B, machine: srv, fault: f9, run: "true", colour: red}
`, []string{
			"lab.yaml:15:26: solution.steps[0].machine: no machine named \"svr\" (did you mean \"srv\"?)",
			"lab.yaml:16:14: solution.steps[1].name: step \"a\" is declared twice",
			"lab.yaml:16:42: solution.steps[1].transport: transport \"telnet\" is not supported for steps (valid: ssh, winrm, ldap)",
			"lab.yaml:16:55: solution.steps[1].run: a step needs a `run` script",
			"lab.yaml:17:14: solution.steps[2].name: \"B\": use lower-case",
			"lab.yaml:17:38: solution.steps[2].fault: no fault named \"f9\" in `faults` (did you mean \"f1\"?)",
			"lab.yaml:17:55: solution.steps[2].colour: unknown field (valid: fault, machine, name, restarts, run, timeout, title, transport)",
		}},
		{"no credentials for the transport", `solution:
  steps:
    - {name: a, machine: srv, transport: ldap, run: "dn: ou=x\\nchangetype: delete"}
    - {name: b, machine: srv, transport: winrm, run: "Get-Date"}
`, []string{
			"lab.yaml:15:42: solution.steps[0].transport: machine \"srv\" has no ldap credentials for this step's transport ldap (add credentials.ldap to the machine)",
			"lab.yaml:16:42: solution.steps[1].transport: machine \"srv\" has no winrm credentials",
		}},
		{"restarts on ssh", `solution:
  steps:
    - {name: a, machine: srv, restarts: true, run: "reboot"}
`, []string{"lab.yaml:15:41: solution.steps[0].restarts: only winrm steps are watched through a restart (this one's transport is ssh)"}},
		{"empty", "solution: {steps: []}\n", []string{"solution.steps: a solution needs at least one step"}},
		{"bad template", `solution:
  steps: [{name: a, machine: srv, run: "{{ .Params.nope }}"}]
`, []string{"lab.yaml:14:40: solution.steps[0].run: template: solution.steps[0].run:1:10: executing"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load("lab.yaml", []byte(scenarioLab+tt.extra))
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error:\n%v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			got := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("diagnostics lack %q:\n%s", w, got)
				}
			}
		})
	}
}

func TestFaultsDrawnAndScenario(t *testing.T) {
	l, err := Load("lab.yaml", []byte(scenarioLab+`solution:
  steps:
    - {name: a, machine: srv, run: "echo {{ .Params.d }}"}
    - {name: r1, machine: srv, fault: f1, run: "true"}
    - {name: r2, machine: srv, fault: f2, run: "true"}
`))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i := 1; i <= 20; i++ {
		c := Candidate{ID: "c" + string(rune('a'+i)), Index: i}
		drawn := l.FaultsFor("s1", c)
		if len(drawn) != 2 || drawn[1].Name != "f3" {
			t.Fatalf("candidate %s: drawn %v, want one of f1/f2 then f3", c.ID, drawn)
		}
		if again := l.FaultsFor("s1", c); again[0].Name != drawn[0].Name {
			t.Fatalf("draw is not stable")
		}
		seen[drawn[0].Name] = true
		steps := l.ApplicableSteps(drawn)
		if len(steps) != 2 || steps[1].Fault != drawn[0].Name {
			t.Fatalf("applicable steps %v for faults %v", steps, drawn)
		}
		sc, err := l.ResolveScenario(ResolveInput{Session: "s1", Candidate: c})
		if err != nil {
			t.Fatal(err)
		}
		inst, _ := l.Resolve(ResolveInput{Session: "s1", Candidate: c})
		if want := "echo " + inst.Params["d"].(string); sc.Solution.Steps[0].Run != want || sc.Faults[0].Run != want {
			t.Fatalf("rendered %q / %q, want %q", sc.Solution.Steps[0].Run, sc.Faults[0].Run, want)
		}
	}
	if !seen["f1"] || !seen["f2"] {
		t.Errorf("20 candidates drew only %v", seen)
	}
}

// TestBuiltinSolutions: every lab of the catalog ships a reference solution
// (`tailab verify` proves it both ways).
func TestBuiltinSolutions(t *testing.T) {
	cat, err := Catalog()
	if err != nil {
		t.Fatal(err)
	}
	if len(cat) < 4 {
		t.Fatalf("catalog lists %d labs", len(cat))
	}
	for _, e := range cat {
		name := e.Name
		l, err := LoadBuiltin(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if l.Solution == nil || len(l.Solution.Steps) == 0 {
			t.Errorf("%s has no solution", name)
		}
	}
}

// TestTextsHoldNoTemplate: what a jury or a candidate reads never shows
// template text: a fault's title is printed as written (refused when it holds
// a template); a description or step title that still holds "{{" once
// rendered is refused, each at its file:line:col.
func TestTextsHoldNoTemplate(t *testing.T) {
	title := strings.Replace(scenarioLab, `{name: f3, machine: srv, run: "true"}`,
		`{name: f3, machine: srv, run: "true", title: "Le compte {{ .Params.d }} est verrouillé"}`, 1)
	leftovers := strings.Replace(scenarioLab, `{name: f3, machine: srv, run: "true"}`,
		`{name: f3, machine: srv, run: "true", title: Panne, description: "{{ print \"{{\" }} .Params.d }}"}`, 1) +
		`solution:
  steps: [{name: a, machine: srv, run: "true", title: "Réparer {{ print \"{{x}}\" }}"}]
`
	for _, tc := range []struct{ lab, want string }{
		{title, `lab.yaml:12:50: faults[2].title: "Le compte {{ .Params.d }} est verrouillé" holds a template: a fault's title is printed as written`},
		{leftovers, `lab.yaml:12:70: faults[2].description: still holds {{ once rendered ("{{ .Params.d }}")`},
		{leftovers, `lab.yaml:14:55: solution.steps[0].title: still holds {{ once rendered ("Réparer {{x}}")`},
	} {
		_, err := Load("lab.yaml", []byte(tc.lab))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("diagnostics lack %q:\n%v", tc.want, err)
		}
	}
	// Descriptions rendered per candidate are fine.
	if _, err := Load("lab.yaml", []byte(strings.Replace(scenarioLab, `{name: f3, machine: srv, run: "true"}`,
		`{name: f3, machine: srv, run: "true", description: "Le domaine {{ .Params.d }} ne répond plus"}`, 1))); err != nil {
		t.Fatal(err)
	}
}
