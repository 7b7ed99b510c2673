// Package probetest holds what the probes' table tests share.
package probetest

import (
	"strings"
	"testing"

	"github.com/tailab/tailab/checks/probe"
)

// Err checks an observation's error against a table case's expected error
// substring. With errSub set, the observation must have failed with an error
// holding it, and Err returns true: the case ends there. Without, an error
// fails the test (with the evidence) and Err returns false: the case goes on
// to check the values.
func Err(t testing.TB, o probe.Observation, errSub string) (done bool) {
	t.Helper()
	if errSub != "" {
		if o.Err == nil || !strings.Contains(o.Err.Error(), errSub) {
			t.Fatalf("Err = %v, want %q\n%s", o.Err, errSub, o.Evidence)
		}
		return true
	}
	if o.Err != nil {
		t.Fatalf("Err %v\n%s", o.Err, o.Evidence)
	}
	return false
}
