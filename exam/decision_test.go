package exam

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
)

// A critical check the suites do not have is refused at its file:line:col,
// as `tailab validate` and grade load the lab; the rule reaches the gradings
// with the session's threshold in place of the lab's.
func TestDecisionRule(t *testing.T) {
	dir := t.TempDir()
	suite := "name: s\nchecks:\n  - {id: dns-actif, title: t, competence: C2.3, machine: srv, probe: {type: tcp, port: 53}, expect: {open: true}}\n"
	lab := `name: l
secrets: {k: {ssh_key: true}}
networks: [{name: lan, cidr: 10.0.0.0/24}]
defaults: {kind: container, os: linux, credentials: {ssh: {user: root, key: k}}}
machines:
  - {name: srv, role: server, nics: [{network: lan, address: 10.0.0.10}]}
checks: [suite.yaml]
decision:
  threshold: 60
  critical: [dns-actif]
  ccps:
    CCP2: {critical: [dns-actf, s/dns-actif]}
    CCP7: {threshold: 50}
`
	for name, data := range map[string]string{"suite.yaml": suite, "lab.yaml": lab} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err := ValidateFile(filepath.Join(dir, "lab.yaml"), Probes())
	for _, want := range []string{
		`lab.yaml:12:23: decision.ccps.CCP2.critical[0]: no check "dns-actf" in the lab's suites (did you mean "dns-actif"?)`,
		`lab.yaml:13:11: decision.ccps.CCP7: no CCP "CCP7" in the referential tai-2018 (valid: CCP1, CCP2, CCP3)`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) || strings.Count(err.Error(), "\n") != 1 {
			t.Errorf("validate: %v\nwant %q", err, want)
		}
	}

	l, err := labs.Load("lab.yaml", []byte(strings.Replace(strings.Replace(lab, "dns-actf, ", "", 1), "    CCP7: {threshold: 50}\n", "", 1)))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		lab     *labs.Lab
		session float64
		want    string
	}{
		{"none", &labs.Lab{}, 0, "<nil>"},
		{"lab", l, 0, "lab default 60 [dns-actif] CCP2 60 [s/dns-actif]"},
		{"session over the lab", l, 75, "session default 75 [dns-actif] CCP2 75 [s/dns-actif]"},
		{"session alone", &labs.Lab{}, 40, "session default 40 []"},
	} {
		r := DecisionRules(tc.lab, &provision.Session{DecisionThreshold: tc.session})
		if got := rulesString(r); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

func rulesString(r *checks.DecisionRules) string {
	if r == nil {
		return "<nil>"
	}
	s := fmt.Sprintf("%s default %g %v", r.Source, r.Default.Threshold, r.Default.Critical)
	if c, ok := r.CCPs["CCP2"]; ok {
		s += fmt.Sprintf(" CCP2 %g %v", c.Threshold, c.Critical)
	}
	return s
}
