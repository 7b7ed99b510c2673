package terraform

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strings"
)

// The names below are the local libvirt provider's (provision/libvirt/names.go),
// repeated here because that package needs cgo and this one must build without
// it; names_cgo_test.go checks that both agree.

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

// BridgeName is a network's bridge: "tlb" ("tlm" for management) and 12 hex
// digits of the network name's hash.
func BridgeName(network string) string {
	h := sha256.Sum256([]byte(network))
	p := "tlb"
	if strings.HasSuffix(network, ".mgmt") {
		p = "tlm"
	}
	return p + hex.EncodeToString(h[:6])
}

// VolumeName is a machine's disk volume (index 0 is the system disk, a thin clone).
func VolumeName(session, candidate, machine string, disk int) string {
	if disk == 0 {
		return DomainName(session, candidate, machine) + ".qcow2"
	}
	return fmt.Sprintf("%s.disk%d.qcow2", DomainName(session, candidate, machine), disk)
}

// SeedName is a machine's cloud-init (NoCloud) disk.
func SeedName(session, candidate, machine string) string {
	return DomainName(session, candidate, machine) + ".cidata.iso"
}

// MAC derives the stable MAC address of a NIC (99 for the management NIC).
func MAC(session, candidate, machine string, nic int) string {
	h := sha256.Sum256([]byte(fmt.Sprintf("%s/%s/%s/%d", session, candidate, machine, nic)))
	return fmt.Sprintf("52:54:00:%02x:%02x:%02x", h[0], h[1], h[2])
}

// MgmtHost returns the host's address and the prefix length of a management network.
func MgmtHost(cidr string) (netip.Addr, int, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil || p.Bits() != 16 || !p.Addr().Is4() {
		return netip.Addr{}, 0, fmt.Errorf("management network %q must be an IPv4 /16", cidr)
	}
	return p.Addr().Next(), p.Bits(), nil
}

// MgmtAddress is machine machineIndex (0-based) of candidate candidateIndex on
// the management network: 10.X.<candidate>.<10 + machine>.
func MgmtAddress(cidr string, candidateIndex, machineIndex int) (netip.Addr, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return netip.Addr{}, err
	}
	if candidateIndex < 1 || candidateIndex > 250 || machineIndex < 0 || machineIndex >= 240 {
		return netip.Addr{}, fmt.Errorf("management address out of range: candidate %d, machine %d", candidateIndex, machineIndex)
	}
	b := p.Addr().As4()
	b[2] = byte(candidateIndex)
	b[3] = byte(10 + machineIndex)
	return netip.AddrFrom4(b), nil
}

// Workspace names allow letters, digits, '-' and '_'; session names and
// candidate ids never hold '_', so "tl-SESSION_CANDIDATE" is unambiguous.

// WorkspaceName is the workspace of a candidate's lab.
func WorkspaceName(session, candidate string) string { return Prefix + session + "_" + candidate }

// MgmtWorkspaceName is the workspace of the session's management network.
func MgmtWorkspaceName(session string) string { return Prefix + session + "_mgmt" }

// Tags are a workspace's tags: tailab, session:S, candidate:C (or role:mgmt), lab:L.
func Tags(session, candidate, lab string) []string {
	t := []string{"tailab", "session:" + session}
	if candidate == "" {
		t = append(t, "role:mgmt")
	} else {
		t = append(t, "candidate:"+candidate)
	}
	return append(t, "lab:"+lab)
}
