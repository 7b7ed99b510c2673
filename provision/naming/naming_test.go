package naming

import (
	"strings"
	"testing"
)

func TestNames(t *testing.T) {
	tests := []struct {
		session, candidate, machine string
	}{
		{"s1", "c01", "srv"},
		{"session-longue-2026", "candidat-20-chars-x", "a-very-long-machine-name"},
	}
	for _, tt := range tests {
		d := DomainName(tt.session, tt.candidate, tt.machine)
		s, c, m, ok := ParseName(d)
		if !ok || s != tt.session || c != tt.candidate || m != tt.machine {
			t.Errorf("ParseName(%q) = %q %q %q %v", d, s, c, m, ok)
		}
		for _, n := range []string{NetworkName(tt.session, tt.candidate, "lan"), MgmtNetworkName(tt.session)} {
			if b := BridgeName(n); len(b) > 15 {
				t.Errorf("bridge %q of %q is longer than Linux's 15 characters", b, n)
			}
		}
		if !strings.HasPrefix(BridgeName(MgmtNetworkName(tt.session)), "tlm") {
			t.Error("management bridges start with tlm")
		}
		if MAC(tt.session, tt.candidate, tt.machine, 0) == MAC(tt.session, tt.candidate, tt.machine, 1) {
			t.Error("two NICs of a machine share a MAC")
		}
	}
	if _, _, _, ok := ParseName("vm-of-someone-else"); ok {
		t.Error("a name tailab did not make parses")
	}
	if s, c, r, ok := ParseName("tl-s1.mgmt"); !ok || s != "s1" || c != "" || r != "mgmt" {
		t.Errorf("ParseName(mgmt) = %q %q %q %v", s, c, r, ok)
	}
}

func TestMgmtAddress(t *testing.T) {
	tests := []struct {
		cand, machine int
		want, err     string
	}{
		{1, 0, "10.250.1.10", ""},
		{250, 239, "10.250.250.249", ""},
		{0, 0, "", "out of range"},
		{251, 0, "", "out of range"},
		{1, 240, "", "out of range"},
	}
	for _, tt := range tests {
		a, err := MgmtAddress("10.250.0.0/16", tt.cand, tt.machine)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("MgmtAddress(%d, %d) = %v, %v; want error %q", tt.cand, tt.machine, a, err, tt.err)
			}
			continue
		}
		if err != nil || a.String() != tt.want {
			t.Errorf("MgmtAddress(%d, %d) = %v, %v; want %s", tt.cand, tt.machine, a, err, tt.want)
		}
	}
	if _, _, err := MgmtHost("10.250.0.0/24"); err == nil {
		t.Error("a /24 management network is accepted")
	}
}
