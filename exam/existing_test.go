package exam

import (
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
