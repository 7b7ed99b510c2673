package ssh

import (
	"strings"
	"testing"

	"github.com/tailab/tailab/internal/yamlx"
)

func TestParamsValidate(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string // diagnostics, in order
	}{
		{"ok", "command: uname -a\ntimeout: 5s\n", nil},
		{"stdin", "command: cat\nstdin: |\n  hello\n", nil},
		{"missing command", "timeout: 5s\n", []string{"s.yaml:3:5: checks[0].probe.command: missing command"}},
		{"bad timeout", "command: x\ntimeout: soon\n", []string{"s.yaml:2:10: checks[0].probe.timeout: expected a duration"}},
		{"typo", "comand: x\n", []string{"s.yaml:1:1: checks[0].probe.comand: unknown field (did you mean \"command\"?)", "missing command"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, diags := yamlx.Parse("s.yaml", []byte(tc.yaml))
			if diags != nil {
				t.Fatal(diags)
			}
			d := yamlx.NewDecoder("s.yaml")
			p := (&Probe{}).NewParams()
			d.Decode(n, p, "checks[0].probe")
			p.Validate(d, yamlx.Pos{File: "s.yaml", Line: 3, Column: 5}, "checks[0].probe")
			if len(d.Diags) != len(tc.want) {
				t.Fatalf("diagnostics %v, want %d", d.Diags, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.Contains(d.Diags[i].Error(), w) {
					t.Errorf("diag %d = %q, want it to contain %q", i, d.Diags[i].Error(), w)
				}
			}
		})
	}
}
