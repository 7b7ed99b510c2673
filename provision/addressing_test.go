package provision

import (
	"reflect"
	"strings"
	"testing"

	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision/naming"
)

// Addressing is what both back-ends plug and configure: the lab NICs in
// order (static, DHCP or none; the default route on a nat first NIC only),
// then the management NIC.
func TestAddressing(t *testing.T) {
	s := &Session{Name: "s1", MgmtCIDR: "10.250.0.0/16"}
	in := &labs.Instance{
		Candidate: labs.Candidate{ID: "c02", Index: 2},
		Networks: []labs.Network{
			{Name: "wan", CIDR: "10.100.0.0/24", Mode: labs.ModeNAT},
			{Name: "wan2", CIDR: "10.101.0.0/24", Mode: labs.ModeNAT, Gateway: "10.101.0.254"},
			{Name: "lan", CIDR: "192.168.1.0/25"},
		},
		Machines: []labs.Machine{
			{Name: "srv"},
			{Name: "gw", NICs: []labs.NIC{
				{Network: "wan", Address: "10.100.0.5"},
				{Network: "lan", Address: "192.168.1.1", MAC: "52:54:00:aa:bb:cc"},
				{Network: "lan", Address: "dhcp"},
				{Network: "lan"},
			}},
			{Name: "pc", NICs: []labs.NIC{{Network: "wan2", Address: "10.101.0.7"}}},
			{Name: "pc2", NICs: []labs.NIC{{Network: "lan", Address: "192.168.1.9"}, {Network: "wan", Address: "10.100.0.9"}}},
		},
	}
	mgmt := func(machine string, mi int) NIC {
		return NIC{Dev: "eth" + string(rune('0'+len(in.Machines[mi].NICs))), MAC: naming.MAC("s1", "c02", machine, naming.MgmtNIC),
			Address: "10.250.2." + []string{"10", "11", "12", "13"}[mi], Prefix: 16, Mgmt: true}
	}
	for _, tc := range []struct {
		mi   int
		want []NIC
	}{
		{0, []NIC{mgmt("srv", 0)}},
		{1, []NIC{
			{Lab: "wan", Dev: "eth0", MAC: naming.MAC("s1", "c02", "gw", 0), Address: "10.100.0.5", Prefix: 24, Gateway: "10.100.0.1"},
			{Lab: "lan", Dev: "eth1", MAC: "52:54:00:aa:bb:cc", Address: "192.168.1.1", Prefix: 25},
			{Lab: "lan", Dev: "eth2", MAC: naming.MAC("s1", "c02", "gw", 2), DHCP: true},
			{Lab: "lan", Dev: "eth3", MAC: naming.MAC("s1", "c02", "gw", 3)},
			mgmt("gw", 1),
		}},
		{2, []NIC{
			{Lab: "wan2", Dev: "eth0", MAC: naming.MAC("s1", "c02", "pc", 0), Address: "10.101.0.7", Prefix: 24, Gateway: "10.101.0.254"},
			mgmt("pc", 2),
		}},
		// The default route is the first NIC's only: a nat network second
		// gives none.
		{3, []NIC{
			{Lab: "lan", Dev: "eth0", MAC: naming.MAC("s1", "c02", "pc2", 0), Address: "192.168.1.9", Prefix: 25},
			{Lab: "wan", Dev: "eth1", MAC: naming.MAC("s1", "c02", "pc2", 1), Address: "10.100.0.9", Prefix: 24},
			mgmt("pc2", 3),
		}},
	} {
		t.Run(in.Machines[tc.mi].Name, func(t *testing.T) {
			got, err := Addressing(s, in, tc.mi)
			if err != nil {
				t.Fatal(err)
			}
			if got.Mgmt.String() != tc.want[len(tc.want)-1].Address {
				t.Errorf("Mgmt = %s", got.Mgmt)
			}
			if !reflect.DeepEqual(got.NICs, tc.want) {
				t.Errorf("NICs:\n got %+v\nwant %+v", got.NICs, tc.want)
			}
		})
	}
}

func TestAddressingRefusals(t *testing.T) {
	in := &labs.Instance{Candidate: labs.Candidate{ID: "c01", Index: 1}, Machines: []labs.Machine{{Name: "srv"}}}
	for _, tc := range []struct {
		name, cidr string
		index      int
		want       string
	}{
		{"management network not a /16", "10.250.0.0/24", 1, `management network "10.250.0.0/24" must be an IPv4 /16`},
		{"candidate out of range", "10.250.0.0/16", naming.MaxCandidates + 1, "management address out of range: candidate 251"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in.Candidate.Index = tc.index
			_, err := Addressing(&Session{Name: "s1", MgmtCIDR: tc.cidr}, in, 0)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}
