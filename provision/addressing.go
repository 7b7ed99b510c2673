package provision

import (
	"fmt"
	"net/netip"

	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision/naming"
)

// NIC is one network interface of a provisioned machine as every back-end
// plugs and configures it: the libvirt provider in the domain's XML, the
// container's init or a VM's seed, the Terraform one in cloud-init's
// network-config. The rules (device names, MACs, the NAT gateway, the
// management NIC) are written once, in Addressing.
type NIC struct {
	// Lab is the lab network the NIC is on; "" for the management NIC.
	Lab string
	// Dev is the device name: eth0, eth1, ... in the lab's order, the
	// management NIC last.
	Dev string
	// MAC is the lab's, else derived from the names (naming.MAC).
	MAC string
	// Address is the static address; "" with DHCP or no address.
	Address string
	// Prefix is the network's prefix length (24 when its CIDR does not parse).
	Prefix int
	// Gateway is the default route: on the first NIC only, when it is on a
	// nat network (the network's gateway, else its first address).
	Gateway string
	DHCP    bool
	// Mgmt marks the session's management NIC (isolated from its neighbours).
	Mgmt bool
}

// MachineAddressing is a machine's management address and its NICs.
type MachineAddressing struct {
	Mgmt netip.Addr
	NICs []NIC
}

// Addressing resolves the addresses of machine mi of an instance: one NIC per
// lab NIC, then the management NIC on the session's management network.
func Addressing(s *Session, in *labs.Instance, mi int) (MachineAddressing, error) {
	m := in.Machines[mi]
	c := in.Candidate
	mgmt, err := naming.MgmtAddress(s.MgmtCIDR, c.Index, mi)
	if err != nil {
		return MachineAddressing{}, err
	}
	_, bits, err := naming.MgmtHost(s.MgmtCIDR)
	if err != nil {
		return MachineAddressing{}, err
	}
	out := MachineAddressing{Mgmt: mgmt}
	for j, nic := range m.NICs {
		n, _ := in.Network(nic.Network)
		ni := NIC{Lab: nic.Network, Dev: fmt.Sprintf("eth%d", j), MAC: nic.MAC}
		if ni.MAC == "" {
			ni.MAC = naming.MAC(s.Name, c.ID, m.Name, j)
		}
		switch nic.Address {
		case "":
		case "dhcp":
			ni.DHCP = true
		default:
			ni.Address, ni.Prefix = nic.Address, prefixLen(n.CIDR)
			if n.Mode == labs.ModeNAT && j == 0 {
				ni.Gateway = n.Gateway
				if ni.Gateway == "" {
					p, _ := netip.ParsePrefix(n.CIDR)
					ni.Gateway = p.Addr().Next().String()
				}
			}
		}
		out.NICs = append(out.NICs, ni)
	}
	out.NICs = append(out.NICs, NIC{
		Dev: fmt.Sprintf("eth%d", len(m.NICs)), MAC: naming.MAC(s.Name, c.ID, m.Name, naming.MgmtNIC),
		Address: mgmt.String(), Prefix: bits, Mgmt: true,
	})
	return out, nil
}

// prefixLen is a CIDR's prefix length, 24 when it does not parse (the loader
// refuses such a lab; a hand-made instance still gets an address).
func prefixLen(cidr string) int {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return 24
	}
	return p.Bits()
}
