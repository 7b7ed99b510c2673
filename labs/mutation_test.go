package labs

import (
	"encoding/json"
	"strings"
	"testing"
)

const mutationSolution = `solution:
  steps:
    - {name: a, machine: srv, run: "true"}
`

// A mutation's mistakes are refused at their file:line:col: name, title,
// steps (the solution's rules, and no fault), fails empty or listed twice.
func TestMutationValidation(t *testing.T) {
	tests := []struct {
		name, extra string
		want        []string
	}{
		{"ok", mutationSolution + `mutations:
  - name: lien-desactive
    title: "Le lien de {{ .Params.d }} est désactivé"
    steps: [{name: m, machine: srv, run: "echo {{ .Params.d }}"}]
    fails: [x, s/y]
    na: [z]
`, nil},
		{"mistakes", mutationSolution + `mutations:
  - name: Lien
    steps: [{name: m, machine: svr, fault: f1, run: "true"}, {name: m, machine: srv, run: ""}]
    fails: []
  - name: b
    title: t
    steps: []
    fails: [x, x]
    na: [x, ""]
  - {name: b, title: t, steps: [{name: m, machine: srv, run: "true"}], fails: [x], colour: red}
`, []string{
			"lab.yaml:17:11: mutations[0].name: \"Lien\": use lower-case letters",
			"lab.yaml:17:5: mutations[0].title: a mutation needs a title",
			"lab.yaml:18:32: mutations[0].steps[0].machine: no machine named \"svr\" (did you mean \"srv\"?)",
			"lab.yaml:18:44: mutations[0].steps[0].fault: a mutation's step is always applied",
			"lab.yaml:18:69: mutations[0].steps[1].name: step \"m\" is declared twice in this mutation",
			"lab.yaml:18:91: mutations[0].steps[1].run: a step needs a `run` script",
			"lab.yaml:19:12: mutations[0].fails: a mutation needs the checks it must fail",
			"lab.yaml:22:12: mutations[1].steps: a mutation needs at least one step",
			"lab.yaml:23:16: mutations[1].fails[1]: check \"x\" is listed twice",
			"lab.yaml:24:10: mutations[1].na[0]: check \"x\" is listed in both fails and na",
			"lab.yaml:24:13: mutations[1].na[1]: expected a check id (id, or suite/id)",
			"lab.yaml:25:12: mutations[2].name: mutation \"b\" is declared twice",
			"lab.yaml:25:84: mutations[2].colour: unknown field (valid: fails, na, name, steps, title)",
		}},
		{"no solution", `mutations:
  - {name: a, title: t, steps: [{name: m, machine: srv, run: "true"}], fails: [x]}
`, []string{"lab.yaml:14:3: mutations: mutations are near misses of the reference solution: the lab needs a solution"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := Load("lab.yaml", []byte(scenarioLab+tt.extra))
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error:\n%v", err)
				}
				sc, err := l.ResolveScenario(ResolveInput{Session: "s1", Candidate: Candidate{ID: "c01", Index: 1}})
				if err != nil {
					t.Fatal(err)
				}
				m := sc.Mutations[0]
				if !strings.HasSuffix(m.Title, ".lan est désactivé") || !strings.HasPrefix(m.Steps[0].Run, "echo ") || strings.Contains(m.Steps[0].Run, "{{") {
					t.Errorf("mutation not rendered for the candidate: %+v", m)
				}
				if m.Fails[1].ID != "s/y" || m.Fails[1].Pos.Line != 20 || m.NA[0].ID != "z" {
					t.Errorf("check references = %+v, na %+v", m.Fails, m.NA)
				}
				if b, _ := json.Marshal(m.Fails); string(b) != `["x","s/y"]` {
					t.Errorf("fails as JSON = %s", b)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("diagnostics lack %q:\n%s", w, err)
				}
			}
		})
	}
}
