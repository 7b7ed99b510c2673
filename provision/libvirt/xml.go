package libvirt

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"libvirt.org/go/libvirtxml"

	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision/naming"
)

// tag is tailab's <metadata> element on a domain: who it belongs to, and the
// hash of the spec it was made from (a changed lab shows as drift).
type tag struct {
	XMLName   xml.Name `xml:"tailab"`
	NS        string   `xml:"xmlns,attr,omitempty"` // set when writing; libvirt returns the element without it
	Session   string   `xml:"session"`
	Candidate string   `xml:"candidate"`
	Lab       string   `xml:"lab"`
	Machine   string   `xml:"machine"`
	Spec      string   `xml:"spec"`
	// UIDBase is a contained container's host uid for its root (contain.go):
	// nonzero says the machine runs in a user namespace of its own.
	UIDBase uint32 `xml:"uidbase,omitempty"`
}

func (t tag) xml() string {
	t.NS = naming.MetadataNS
	b, _ := xml.Marshal(t)
	return string(b)
}

func parseTag(s string) (tag, bool) {
	var t tag
	if err := xml.Unmarshal([]byte(s), &t); err != nil || t.Session == "" {
		return tag{}, false
	}
	return t, true
}

// nicSpec is one NIC of a machine as libvirt sees it.
type nicSpec struct {
	Network  string // libvirt network name
	Lab      string // lab network name ("" for management)
	Dev      string // eth0, eth1, ...
	MAC      string
	Address  string // static address, "" for DHCP or none
	Prefix   int
	Gateway  string
	DHCP     bool
	Isolated bool   // <port isolated='yes'/>: management NICs
	Port     string // host-side name (<target dev=.../>): filtered management NICs
}

// machineSpec is everything needed to create one machine.
type machineSpec struct {
	Session, Candidate, Lab string
	CandidateIndex          int
	Machine                 labs.Machine
	Index                   int    // machine index in the lab
	Domain                  string // libvirt domain name
	Type                    string // lxc | qemu
	Mgmt                    netip.Addr
	NICs                    []nicSpec
	Dir                     string // private dir (containers), console log (VMs)
	SharedDir               string // the session's files common to every container (/srv/lib)
	Image                   *image // VMs
	Volumes                 []volumeSpec
	HostVar                 string // the host's real /var, for containers of a namespaced daemon
	Hide                    []string
	Hash                    string
	Console                 consoleSpec // VMs
	// AuthorizedKeys are the grader's public SSH keys (containers), set by
	// prepareContainer from the secrets: like the console password, not part of
	// the spec's hash.
	AuthorizedKeys []string
	// Contained containers (contain.go): the idmapped mounts (mount point →
	// target in the machine, as libvirtd sees them) and the uid base, 0 until
	// allocated (a plan hashes the layout, not the range).
	Contained bool
	Mounts    []fsMount
	UIDBase   uint32
	// PortAllowed: the management port's nft element was added by Apply for
	// this start (allowMgmtPort), in one transaction with the others'.
	PortAllowed bool
	// mountsAhead: the mounts for this start are being made by Apply with
	// the others' (ahead.go).
	mountsAhead   *mountWait
	preparedAhead bool // its files too (prepare)
	// HostKeySHA256 is the fingerprint of the container's SSH host key, set
	// by installHostKey: pinned in the machine's state.
	HostKeySHA256 string
	// HostKeyPEM is a Linux VM's private host key for its seed (vmHostKey).
	HostKeyPEM []byte
}

// consoleSpec is a VM's VNC console. The password is not part of the spec's
// hash (plans are made without secrets); Apply sets it before defining.
type consoleSpec struct {
	Listen   string
	Password string
}

type volumeSpec struct {
	Name    string
	Backing string // base image path for the system disk; "" for an empty extra disk
	Size    labs.Size
}

// networkXML is a candidate's lab network: pure L2 when isolated (no host
// address, so every candidate can use the same plan), NAT with a host gateway
// (and optional DHCP) when nat.
func networkXML(name string, n *labs.Network) (string, error) {
	nw := &libvirtxml.Network{
		Name:   name,
		Bridge: &libvirtxml.NetworkBridge{Name: naming.BridgeName(name), STP: "off"},
	}
	if n.Mode == labs.ModeNAT {
		p, err := netip.ParsePrefix(n.CIDR)
		if err != nil {
			return "", err
		}
		gw := p.Addr().Next()
		if n.Gateway != "" {
			gw = netip.MustParseAddr(n.Gateway)
		}
		nw.Forward = &libvirtxml.NetworkForward{Mode: "nat"}
		ip := libvirtxml.NetworkIP{Address: gw.String(), Prefix: uint(p.Bits())}
		if n.DHCP != nil {
			ip.DHCP = &libvirtxml.NetworkDHCP{Ranges: []libvirtxml.NetworkDHCPRange{{Start: n.DHCP.Start, End: n.DHCP.End}}}
		}
		nw.IPs = []libvirtxml.NetworkIP{ip}
	}
	return nw.Marshal()
}

// mgmtNetworkXML is the session's management network: the host has the first
// address; every machine's management NIC is an isolated port, so machines reach
// the host (the grader) but not each other.
func mgmtNetworkXML(session, cidr string) (string, error) {
	host, bits, err := naming.MgmtHost(cidr)
	if err != nil {
		return "", err
	}
	name := naming.MgmtNetworkName(session)
	nw := &libvirtxml.Network{
		Name:   name,
		Bridge: &libvirtxml.NetworkBridge{Name: naming.BridgeName(name), STP: "off"},
		IPs:    []libvirtxml.NetworkIP{{Address: host.String(), Prefix: uint(bits)}},
	}
	return nw.Marshal()
}

func interfaces(nics []nicSpec, lxc bool) []libvirtxml.DomainInterface {
	var out []libvirtxml.DomainInterface
	for _, n := range nics {
		ifc := libvirtxml.DomainInterface{
			MAC:    &libvirtxml.DomainInterfaceMAC{Address: n.MAC},
			Source: &libvirtxml.DomainInterfaceSource{Network: &libvirtxml.DomainInterfaceSourceNetwork{Network: n.Network}},
		}
		if n.Isolated {
			ifc.PortOptions = &libvirtxml.DomainInterfacePortOptions{Isolated: "yes"}
		}
		if n.Port != "" {
			ifc.Target = &libvirtxml.DomainInterfaceTarget{Dev: n.Port}
		}
		if lxc {
			if n.Address != "" {
				ifc.IP = []libvirtxml.DomainInterfaceIP{{Address: n.Address, Family: "ipv4", Prefix: uint(n.Prefix)}}
			}
			if n.Gateway != "" {
				ifc.Route = []libvirtxml.DomainInterfaceRoute{{Family: "ipv4", Address: "0.0.0.0", Prefix: 0, Gateway: n.Gateway}}
			}
		} else {
			ifc.Model = &libvirtxml.DomainInterfaceModel{Type: "virtio"}
		}
		out = append(out, ifc)
	}
	return out
}

// fsMount is a <filesystem type='mount'>: Src (host) on Dst (machine).
type fsMount struct {
	Src, Dst string
	RO       bool
}

func mountFS(src, dst string, ro bool) libvirtxml.DomainFilesystem {
	fs := libvirtxml.DomainFilesystem{
		Source: &libvirtxml.DomainFilesystemSource{Mount: &libvirtxml.DomainFilesystemSourceMount{Dir: src}},
		Target: &libvirtxml.DomainFilesystemTarget{Dir: dst},
	}
	if ro {
		fs.ReadOnly = &libvirtxml.DomainFilesystemReadOnly{}
	}
	return fs
}

func ramFS(dst string, mib uint) libvirtxml.DomainFilesystem {
	return libvirtxml.DomainFilesystem{
		Source: &libvirtxml.DomainFilesystemSource{RAM: &libvirtxml.DomainFilesystemSourceRAM{Usage: mib, Units: "MiB"}},
		Target: &libvirtxml.DomainFilesystemTarget{Dir: dst},
	}
}

// containerXML is an LXC system container. Contained (contain.go): the lab
// rootfs idmapped under the machine's own writable layer as its root, a user
// namespace of its own, the capabilities of containerCaps. Otherwise (the layout before containment):
// the host's / read-only, with tmpfs over what a candidate must not read.
// Both: a private writable /srv (sshd keys, the machine's files), the
// session's init and sshd config at /srv/lib, RAM /run and /tmp, and the
// machine's `tmpfs`.
func containerXML(s *machineSpec, t tag) (string, error) {
	var fss []libvirtxml.DomainFilesystem
	if s.Contained {
		fss = append(fss, mountFS(s.Mounts[0].Src, s.Mounts[0].Dst, s.Mounts[0].RO), ramFS("/run", 64), ramFS("/tmp", 64))
		for _, m := range s.Mounts[1:] {
			fss = append(fss, mountFS(m.Src, m.Dst, m.RO))
		}
	} else {
		fss = append(fss, mountFS("/", "/", true), ramFS("/run", 64), ramFS("/tmp", 64))
		if s.HostVar != "" {
			fss = append(fss, mountFS(s.HostVar, "/var", true))
		}
		for _, h := range s.Hide {
			fss = append(fss, ramFS(h, 1))
		}
		fss = append(fss, mountFS(s.Dir+"/srv", "/srv", false))
		if s.SharedDir != "" {
			fss = append(fss, mountFS(s.SharedDir, "/srv/lib", true))
		}
		for _, f := range fileMounts(s) {
			fss = append(fss, mountFS(f[0], f[1], false))
		}
	}
	for _, tf := range s.Machine.Tmpfs { // after /srv: a tmpfs may be under it
		fss = append(fss, ramFS(tf.Path, uint(tf.Size.MiB())))
	}
	mem := uint(s.Machine.Memory.MiB())
	if mem == 0 {
		mem = 64
	}
	dom := &libvirtxml.Domain{
		Type:     "lxc",
		Name:     s.Domain,
		Metadata: &libvirtxml.DomainMetadata{XML: t.xml()},
		Memory:   &libvirtxml.DomainMemory{Value: mem, Unit: "MiB"},
		VCPU:     &libvirtxml.DomainVCPU{Value: uint(max(s.Machine.CPUs, 1))},
		OS: &libvirtxml.DomainOS{
			Type:    &libvirtxml.DomainOSType{Type: "exe"},
			Init:    "/srv/lib/init.sh",
			InitEnv: initEnv(s),
		},
		OnPoweroff: "destroy", OnReboot: "restart", OnCrash: "destroy",
		Devices: &libvirtxml.DomainDeviceList{
			Filesystems: fss,
			Interfaces:  interfaces(s.NICs, true),
			Consoles:    []libvirtxml.DomainConsole{{Target: &libvirtxml.DomainConsoleTarget{Type: "lxc"}}},
		},
	}
	if s.Contained {
		t.UIDBase = s.UIDBase
		dom.Metadata = &libvirtxml.DomainMetadata{XML: t.xml()}
		m := []libvirtxml.DomainIDMapRange{{Start: 0, Target: uint(s.UIDBase), Count: uidRange}}
		dom.IDMap = &libvirtxml.DomainIDMap{UIDs: m, GIDs: m}
		dom.Features = &libvirtxml.DomainFeatureList{Capabilities: capabilities()}
	}
	return dom.Marshal()
}

// initEnv is what the session's shared init (templates/lxc/init.sh) learns of
// the machine: names, NICs, services and the grader's public keys.
func initEnv(s *machineSpec) []libvirtxml.DomainOSInitEnv {
	var nics, dhcp, announce []string
	for _, n := range s.NICs {
		nics = append(nics, n.Dev)
		if n.DHCP {
			dhcp = append(dhcp, n.Dev)
		}
		if n.Lab == "" && n.Address != "" { // the management NIC
			announce = append(announce, n.Dev+"="+n.Address)
		}
	}
	var env []libvirtxml.DomainOSInitEnv
	for _, kv := range [][2]string{
		{"TAILAB_SESSION", s.Session},
		{"TAILAB_CANDIDATE", s.Candidate},
		{"TAILAB_MACHINE", s.Machine.Name},
		{"TAILAB_HOSTNAME", hostname(s)},
		{"TAILAB_NICS", strings.Join(nics, " ")},
		{"TAILAB_DHCP", strings.Join(dhcp, " ")},
		{"TAILAB_ANNOUNCE", strings.Join(announce, " ")},
		{"TAILAB_SERVICES", strings.Join(s.Machine.Services, " ")},
		{"TAILAB_KEYS", strings.Join(s.AuthorizedKeys, "|")},
	} {
		if kv[1] != "" { // libvirt refuses an empty <initenv>
			env = append(env, libvirtxml.DomainOSInitEnv{Name: kv[0], Value: kv[1]})
		}
	}
	return env
}

// fileMounts lists the machine's `files` as bind mounts (private copy → path);
// files under /srv are written into the private /srv itself.
func fileMounts(s *machineSpec) [][2]string {
	var out [][2]string
	for _, path := range slices.Sorted(maps.Keys(s.Machine.Files)) {
		if strings.HasPrefix(path, "/srv/") {
			continue
		}
		out = append(out, [2]string{s.Dir + "/files" + path, path})
	}
	return out
}

// vmXML is a QEMU domain: thin-clone system disk, virtio NICs, serial console
// logged to a file, a VNC console with the candidate's password, ACPI (so a
// guest can power off), UEFI when asked, and direct kernel boot for images that
// ship a kernel.
//
// It is called twice: by machineSpec to hash the spec (no secrets yet, s.Hash
// unset), and by Apply to define the domain (s.Hash set): then a console must
// have its password, or it would be open to anyone who reaches its address.
// maxVolumes is the number of virtio disk names, vda to vdz.
const maxVolumes = 26

func vmXML(s *machineSpec, t tag, virtType string, poolDir string) (string, error) {
	if s.Hash != "" && s.Console.Listen != "" && s.Console.Password == "" {
		return "", fmt.Errorf("no console password for %s: refusing to define a VM whose console anyone could open (run `tailab up` again)", s.Domain)
	}
	if len(s.Volumes) > maxVolumes {
		return "", fmt.Errorf("%d disks (with the system disk): a VM's virtio disks are named vda to vdz, so at most %d extra disks", len(s.Volumes), maxVolumes-1)
	}
	mem := uint(s.Machine.Memory.MiB())
	if mem == 0 {
		mem = 256
	}
	os := &libvirtxml.DomainOS{Type: &libvirtxml.DomainOSType{Arch: "x86_64", Machine: "pc", Type: "hvm"}}
	if s.Machine.Firmware == "uefi" {
		os.Firmware = "efi"
		os.Type.Machine = "q35"
	}
	if s.Image != nil && s.Image.Kernel != "" {
		os.Kernel, os.Initrd = s.Image.Kernel, s.Image.Initrd
		os.Cmdline = kernelCmdline(s)
	}
	var disks []libvirtxml.DomainDisk
	for i, v := range s.Volumes {
		dev := "vd" + string(rune('a'+i))
		disks = append(disks, libvirtxml.DomainDisk{
			Device: "disk",
			Driver: &libvirtxml.DomainDiskDriver{Name: "qemu", Type: "qcow2"},
			Source: &libvirtxml.DomainDiskSource{File: &libvirtxml.DomainDiskSourceFile{File: poolDir + "/" + v.Name}},
			Target: &libvirtxml.DomainDiskTarget{Dev: dev, Bus: "virtio"},
		})
	}
	if s.Image != nil && s.Image.Seed != "" {
		disks = append(disks, libvirtxml.DomainDisk{
			Device:   "cdrom",
			Driver:   &libvirtxml.DomainDiskDriver{Name: "qemu", Type: "raw"},
			Source:   &libvirtxml.DomainDiskSource{File: &libvirtxml.DomainDiskSourceFile{File: s.Image.Seed}},
			Target:   &libvirtxml.DomainDiskTarget{Dev: "sda", Bus: "sata"},
			ReadOnly: &libvirtxml.DomainDiskReadOnly{},
		})
	}
	logFile := s.Dir + "/console.log"
	dom := &libvirtxml.Domain{
		Type:       virtType,
		Name:       s.Domain,
		Metadata:   &libvirtxml.DomainMetadata{XML: t.xml()},
		Memory:     &libvirtxml.DomainMemory{Value: mem, Unit: "MiB"},
		VCPU:       &libvirtxml.DomainVCPU{Value: uint(max(s.Machine.CPUs, 1))},
		OS:         os,
		Features:   &libvirtxml.DomainFeatureList{ACPI: &libvirtxml.DomainFeature{}},
		OnPoweroff: "destroy", OnReboot: "restart", OnCrash: "destroy",
		Devices: &libvirtxml.DomainDeviceList{
			Disks:      disks,
			Interfaces: interfaces(s.NICs, false),
			Serials: []libvirtxml.DomainSerial{{
				Source: &libvirtxml.DomainChardevSource{File: &libvirtxml.DomainChardevSourceFile{Path: logFile}},
				Target: &libvirtxml.DomainSerialTarget{Port: new(uint)},
			}},
			Consoles: []libvirtxml.DomainConsole{{
				Source: &libvirtxml.DomainChardevSource{File: &libvirtxml.DomainChardevSourceFile{Path: logFile}},
				Target: &libvirtxml.DomainConsoleTarget{Type: "serial"},
			}},
			Graphics: vncGraphics(s.Console),
		},
	}
	return dom.Marshal()
}

// vncGraphics is a VM's VNC console: a port libvirt allocates (5900 up), on the
// listen address only, with the candidate's password (VNC uses 8 characters).
func vncGraphics(c consoleSpec) []libvirtxml.DomainGraphic {
	if c.Listen == "" {
		return nil
	}
	return []libvirtxml.DomainGraphic{{VNC: &libvirtxml.DomainGraphicVNC{
		AutoPort: "yes", Port: -1, Listen: c.Listen, Passwd: c.Password, SharePolicy: "allow-exclusive",
		Listeners: []libvirtxml.DomainGraphicListener{{Address: &libvirtxml.DomainGraphicListenerAddress{Address: c.Listen}}},
	}}}
}

// kernelCmdline passes the tiny guest (scripts/tiny-guest.sh) its hostname and
// addresses: tailab.hostname=H, tailab.ip=SPEC,SPEC,... with one SPEC per NIC
// in order (A.B.C.D/P, dhcp or off) and tailab.gw= for the default route.
func kernelCmdline(s *machineSpec) string {
	// no_timer_check: under TCG on a loaded host the kernel's IO-APIC timer
	// check times out and the guest panics ("IO-APIC + timer doesn't work!").
	parts := []string{"console=ttyS0", "quiet", "panic=-1", "no_timer_check", "tailab.hostname=" + hostname(s)}
	var specs []string
	gw := ""
	for _, n := range s.NICs {
		switch {
		case n.DHCP:
			specs = append(specs, "dhcp")
		case n.Address != "":
			specs = append(specs, fmt.Sprintf("%s/%d", n.Address, n.Prefix))
			if n.Gateway != "" && gw == "" {
				gw = n.Gateway
			}
		default:
			specs = append(specs, "off")
		}
	}
	parts = append(parts, "tailab.ip="+strings.Join(specs, ","))
	if gw != "" {
		parts = append(parts, "tailab.gw="+gw)
	}
	if s.Image != nil && s.Image.Cmdline != "" {
		parts = append(parts, s.Image.Cmdline)
	}
	return strings.Join(parts, " ")
}

func hostname(s *machineSpec) string {
	if s.Machine.Hostname != "" {
		return s.Machine.Hostname
	}
	return s.Machine.Name
}

func specHash(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}
