package libvirt

import "github.com/tailab/tailab/provision/naming"

// The names of every object this provider creates come from package naming,
// which the Terraform provider shares (it builds without cgo).
const (
	Prefix        = naming.Prefix
	MetadataNS    = naming.MetadataNS
	MaxCandidates = naming.MaxCandidates
	MaxMachines   = naming.MaxMachines
)

// Name functions, re-exported from package naming for this package's callers.
var (
	DomainName      = naming.DomainName
	NetworkName     = naming.NetworkName
	MgmtNetworkName = naming.MgmtNetworkName
	ParseName       = naming.ParseName
	BridgeName      = naming.BridgeName
	VolumeName      = naming.VolumeName
	MAC             = naming.MAC
	MgmtHost        = naming.MgmtHost
	MgmtAddress     = naming.MgmtAddress
)
