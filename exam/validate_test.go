package exam

import "testing"

func TestDetectKind(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"lab", "name: x\nmachines: []\n", kindLab},
		{"lab by networks", "networks: []\n", kindLab},
		{"lab checks are file names", "name: x\nchecks: [a.yaml]\n", kindLab},
		{"suite", "checks:\n  - id: a\n", kindSuite},
		{"jury only", "jury: []\n", kindSuite},
		{"inventory", "machines: {srv: {ports: {ssh: 2222}}}\ncandidates: {}\n", kindInventory},
		{"neither", "name: x\n", ""},
		{"empty", "", ""},
		{"list", "- a\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, d := detectKind("f.yaml", []byte(tt.yaml))
			if got != tt.want || (got == "") != (d != nil) {
				t.Errorf("detectKind = %q, %v; want %q", got, d, tt.want)
			}
		})
	}
}
