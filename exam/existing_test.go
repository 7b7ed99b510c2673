package exam

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision/static"
)

// TestExistingRefuses: on machines tailab did not create, faults and
// solution steps need the lab's consent; other providers are not concerned.
func TestExistingRefuses(t *testing.T) {
	tests := []struct {
		provider string
		existing *labs.Existing
		what     string
		want     string // "" allowed
	}{
		{"libvirt", nil, "faults", ""},
		{static.Name, nil, "faults", "--no-faults"},
		{static.Name, &labs.Existing{Solution: true}, "faults", "existing: {faults: true}"},
		{static.Name, &labs.Existing{Faults: true}, "faults", ""},
		{static.Name, &labs.Existing{Faults: true}, "solution", "existing: {solution: true}"},
		{static.Name, &labs.Existing{Solution: true}, "solution", ""},
	}
	for _, tc := range tests {
		err := ExistingRefuses(tc.provider, &labs.Lab{Name: "salle", Existing: tc.existing}, tc.what)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s %+v %s: %v, want %q", tc.provider, tc.existing, tc.what, err, tc.want)
		}
	}
}

// TestValidateInventory: `tailab validate` tells an inventory by its
// candidates and checks it at its line and column.
func TestValidateInventory(t *testing.T) {
	p := filepath.Join(t.TempDir(), "inv.yaml")
	if err := os.WriteFile(p, []byte("machines: {srv: {ports: {shh: 2222}}}\ncandidates:\n  c01: {srv: {address: 10.0.0.1}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	kind, err := ValidateFile(p, Probes())
	if kind != kindInventory || err == nil || !strings.Contains(err.Error(), `inv.yaml:1:25: machines.srv.ports.shh: unknown transport "shh" (did you mean "ssh"?)`) {
		t.Errorf("ValidateFile = %q, %v", kind, err)
	}
}
