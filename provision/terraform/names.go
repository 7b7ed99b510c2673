package terraform

import "github.com/tailab/tailab/provision/naming"

// The libvirt object names (domains, networks, bridges, volumes, seeds, MACs,
// management addresses) are the local provider's: package naming, shared.
const (
	Prefix     = naming.Prefix
	MetadataNS = naming.MetadataNS
)

// Name functions, re-exported from package naming for this package's callers.
var (
	DomainName      = naming.DomainName
	NetworkName     = naming.NetworkName
	MgmtNetworkName = naming.MgmtNetworkName
	BridgeName      = naming.BridgeName
	VolumeName      = naming.VolumeName
	SeedName        = naming.SeedName
	MAC             = naming.MAC
	MgmtHost        = naming.MgmtHost
	MgmtAddress     = naming.MgmtAddress
)

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
