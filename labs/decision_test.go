package labs

import (
	"strings"
	"testing"
)

// The decision rule's mistakes are refused at their file:line:col: a
// threshold that is no percentage, a CCP the referential does not have, a
// critical entry that is no check id, an unknown key.
func TestDecisionValidation(t *testing.T) {
	tests := []struct {
		name, extra string
		want        []string
	}{
		{"ok", `decision:
  threshold: 60
  critical: [ad.users, s/dns]
  ccps:
    CCP3: {threshold: 70.5, critical: [fault.dns-client]}
    CCP2: {critical: [dhcp.scope]}
`, nil},
		{"mistakes", `decision:
  threshold: 0
  critical: [x, ""]
  ccps:
    CCP9: {threshold: 120}
    CCP2: {seuil: 60}
`, []string{
			"lab.yaml:14:14: decision.threshold: 0: a percentage of the CCP's points, above 0 and at most 100",
			"lab.yaml:15:17: decision.critical[1]: expected a check id (id, or suite/id)",
			"lab.yaml:18:12: decision.ccps.CCP2.seuil: unknown field (valid: critical, threshold)",
			"lab.yaml:17:23: decision.ccps.CCP9.threshold: 120: a percentage of the CCP's points, above 0 and at most 100",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := Load("lab.yaml", []byte(scenarioLab+tt.extra))
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error:\n%v", err)
				}
				dc := l.Decision
				if dc == nil || dc.Threshold != 60 || dc.CCPs["CCP3"].Threshold != 70.5 || dc.Critical[1].ID != "s/dns" || dc.Critical[1].Pos.Line != 15 {
					t.Errorf("decision = %+v", dc)
				}
				refs, fields := dc.CriticalChecks()
				if len(refs) != 4 || fields[3] != "decision.ccps.CCP3.critical[0]" || refs[3].ID != "fault.dns-client" {
					t.Errorf("critical checks %v %v", refs, fields)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("diagnostics lack %q:\n%v", w, err)
				}
			}
		})
	}
}
