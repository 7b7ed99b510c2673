//go:build cgo && !nolibvirt

package terraform

import (
	"testing"

	"github.com/tailab/tailab/provision/libvirt"
)

// TestNamesMatchLibvirt: the terraform modules name networks, volumes and
// domains exactly as the local libvirt provider does.
func TestNamesMatchLibvirt(t *testing.T) {
	for _, c := range []struct{ s, c, m string }{{"s1", "c01", "srv"}, {"exam-2025", "dupont", "pc-1"}} {
		pairs := [][2]string{
			{DomainName(c.s, c.c, c.m), libvirt.DomainName(c.s, c.c, c.m)},
			{NetworkName(c.s, c.c, "lan"), libvirt.NetworkName(c.s, c.c, "lan")},
			{MgmtNetworkName(c.s), libvirt.MgmtNetworkName(c.s)},
			{BridgeName(NetworkName(c.s, c.c, "lan")), libvirt.BridgeName(libvirt.NetworkName(c.s, c.c, "lan"))},
			{BridgeName(MgmtNetworkName(c.s)), libvirt.BridgeName(libvirt.MgmtNetworkName(c.s))},
			{VolumeName(c.s, c.c, c.m, 0), libvirt.VolumeName(c.s, c.c, c.m, 0)},
			{VolumeName(c.s, c.c, c.m, 2), libvirt.VolumeName(c.s, c.c, c.m, 2)},
			{MAC(c.s, c.c, c.m, 99), libvirt.MAC(c.s, c.c, c.m, 99)},
			{MetadataNS, libvirt.MetadataNS},
		}
		for _, p := range pairs {
			if p[0] != p[1] {
				t.Errorf("terraform name %q, libvirt name %q", p[0], p[1])
			}
		}
		a, _ := MgmtAddress("10.250.0.0/16", 3, 1)
		b, _ := libvirt.MgmtAddress("10.250.0.0/16", 3, 1)
		if a != b {
			t.Errorf("mgmt address %s, libvirt %s", a, b)
		}
	}
}
