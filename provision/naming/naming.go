// Package naming names every object tailab creates on a libvirt host — domains,
// networks, bridges, volumes, seed images, MAC and management addresses — for
// the local libvirt provider and the Terraform one alike (it needs no cgo), so a
// lab has the same names whichever provider made it.
package naming

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strings"
)

// Prefix starts the name of every libvirt object tailab creates.
const Prefix = "tl-"

// MetadataNS is the XML namespace of tailab's <metadata> tags on domains.
const MetadataNS = "https://tailab.dev/xmlns/libvirt/1"

// DomainName is the libvirt domain of a candidate's machine.
func DomainName(session, candidate, machine string) string {
	return Prefix + session + "." + candidate + "." + machine
}

// NetworkName is the libvirt network of a candidate's lab network.
func NetworkName(session, candidate, network string) string {
	return Prefix + session + "." + candidate + "." + network
}

// MgmtNetworkName is the session's management network.
func MgmtNetworkName(session string) string { return Prefix + session + ".mgmt" }

// ParseName splits a tailab object name "tl-SESSION.CANDIDATE.NAME" (or
// "tl-SESSION.mgmt") into its parts; ok is false for names tailab did not make.
// Session names and candidate ids never hold a '.', so the split is unambiguous.
func ParseName(name string) (session, candidate, rest string, ok bool) {
	if !strings.HasPrefix(name, Prefix) {
		return "", "", "", false
	}
	parts := strings.SplitN(strings.TrimPrefix(name, Prefix), ".", 3)
	switch len(parts) {
	case 2:
		if parts[1] == "mgmt" {
			return parts[0], "", "mgmt", true
		}
	case 3:
		return parts[0], parts[1], parts[2], true
	}
	return "", "", "", false
}

// BridgeName derives a bridge name within Linux's 15-character limit from a
// network name: "tlb" and 12 hex digits of its hash ("tlm" for management).
func BridgeName(network string) string {
	h := sha256.Sum256([]byte(network))
	p := "tlb"
	if strings.HasSuffix(network, ".mgmt") {
		p = "tlm"
	}
	return p + hex.EncodeToString(h[:6])
}

// VolumeName is the thin-clone overlay of a machine's disk (index 0 is the system disk).
func VolumeName(session, candidate, machine string, disk int) string {
	if disk == 0 {
		return DomainName(session, candidate, machine) + ".qcow2"
	}
	return fmt.Sprintf("%s.disk%d.qcow2", DomainName(session, candidate, machine), disk)
}

// SeedName is a machine's cloud-init (NoCloud) seed image.
func SeedName(session, candidate, machine string) string {
	return DomainName(session, candidate, machine) + ".cidata.iso"
}

// MAC derives a stable MAC address for a NIC (pinned, so a re-created machine
// with the same address does not leave stale ARP entries behind).
func MAC(session, candidate, machine string, nic int) string {
	h := sha256.Sum256([]byte(fmt.Sprintf("%s/%s/%s/%d", session, candidate, machine, nic)))
	return fmt.Sprintf("52:54:00:%02x:%02x:%02x", h[0], h[1], h[2])
}

// MgmtNIC is the NIC index a machine's management NIC's MAC is derived from
// (lab NICs are 0, 1, ...).
const MgmtNIC = 99

// Mgmt addresses: the session's management network is a /16 (e.g. 10.250.0.0/16);
// the host is .0.1; candidate N's machine M (0-based) is 10.250.N.(10+M).
const (
	MaxCandidates = 250
	MaxMachines   = 240
)

// MgmtHost returns the host's address and the prefix length of the management network.
func MgmtHost(cidr string) (netip.Addr, int, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil || p.Bits() != 16 || !p.Addr().Is4() {
		return netip.Addr{}, 0, fmt.Errorf("management network %q must be an IPv4 /16", cidr)
	}
	return p.Addr().Next(), p.Bits(), nil
}

// MgmtAddress returns a machine's address on the management network.
func MgmtAddress(cidr string, candidateIndex, machineIndex int) (netip.Addr, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return netip.Addr{}, err
	}
	if candidateIndex < 1 || candidateIndex > MaxCandidates || machineIndex < 0 || machineIndex >= MaxMachines {
		return netip.Addr{}, fmt.Errorf("management address out of range: candidate %d, machine %d", candidateIndex, machineIndex)
	}
	b := p.Addr().As4()
	b[2] = byte(candidateIndex)
	b[3] = byte(10 + machineIndex)
	return netip.AddrFrom4(b), nil
}
