package scenario

import (
	"context"
	"strings"
	"testing"

	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/internal/testenv"
	"github.com/tailab/tailab/labs"
)

// The ldap step tests start a Samba AD DC: the package's tests run in a private
// network namespace when they can (root, unshare); the others do not mind.
func TestMain(m *testing.M) { testenv.RunInNetns(m) }

func TestApplyStepRefusals(t *testing.T) {
	r := &Runner{Machines: map[string]probe.Target{"pc1": {Machine: "pc1", Address: "127.0.0.1"}}}
	for _, tc := range []struct {
		name string
		st   labs.Step
		want string
	}{
		{"unknown transport", labs.Step{Action: labs.Action{Name: "bureau", Machine: "pc1", Transport: "rdp", Run: "x"}},
			`step bureau: transport "rdp" is not supported for steps (valid: ssh, winrm, ldap)`},
		{"unknown machine", labs.Step{Action: labs.Action{Name: "dns", Machine: "srv9", Run: "x"}}, `step dns: no machine "srv9"`},
		{"not LDIF", labs.Step{Action: labs.Action{Name: "ou", Machine: "pc1", Transport: "ldap", Run: "dn: OU=Paris,DC=lab,DC=local\nobjectClass: organizationalUnit\n"}},
			`step ou on pc1: run is not LDIF change records: line 2 (record OU=Paris,DC=lab,DC=local): expected "changetype:" after the dn`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.ApplyStep(context.Background(), tc.st)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v\nwant %q", err, tc.want)
			}
		})
	}
}

func TestCut(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 3, "abc"},
		{"abcd", 3, "abc…"},
		{"aé", 2, "a…"}, // never half a character
		{"ééé", 4, "éé…"},
	} {
		if got := cut(tc.in, tc.n); got != tc.want {
			t.Errorf("cut(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}
