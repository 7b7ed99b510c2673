// Package labs is the lab model: a lab is written once, as a YAML file, and
// resolved into one Instance per candidate of a session.
//
// A lab file declares parameters (with per-candidate generators), networks,
// machines and the check suites that grade it. Machines are short because of a
// defaults → role → machine merge, as containerlab merges defaults, kinds and
// nodes. Load reports every mistake of a file in one pass, each with
// file:line:column and the field.
package labs

import (
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/tailab/tailab/internal/yamlx"
)

// Machine roles.
const (
	RoleClient        = "client"
	RoleMaster        = "master"
	RoleDC            = "dc"
	RoleServer        = "server"
	RoleRouter        = "router"
	RoleNetworkDevice = "network-device"
)

// Roles lists the valid machine roles.
var Roles = []string{RoleClient, RoleMaster, RoleDC, RoleServer, RoleRouter, RoleNetworkDevice}

// Machine kinds.
const (
	KindVM        = "vm"
	KindContainer = "container"
)

// OS families.
const (
	OSWindows = "windows"
	OSLinux   = "linux"
	OSNetwork = "network"
)

// Network modes.
const (
	ModeIsolated = "isolated"
	ModeNAT      = "nat"
)

// Lab is a lab definition as written in a lab file, defaults merged.
type Lab struct {
	Name        string               `yaml:"name" json:"name"`
	Description string               `yaml:"description" json:"description,omitempty"`
	Referential string               `yaml:"referential" json:"referential,omitempty"`
	Parameters  map[string]Parameter `yaml:"parameters" json:"parameters,omitempty"`
	Secrets     map[string]Secret    `yaml:"secrets" json:"secrets,omitempty"`
	// Existing says what tailab may change on machines it did not create
	// (`up --provider static`, docs/existing-room.md): by default nothing.
	Existing *Existing           `yaml:"existing" json:"existing,omitempty"`
	Networks []Network           `yaml:"networks" json:"networks"`
	Defaults yamlNode            `yaml:"defaults" json:"-"`
	Roles    map[string]yamlNode `yaml:"roles" json:"-"`
	Machines []Machine           `yaml:"machines" json:"machines"`
	Checks   []string            `yaml:"checks" json:"checks,omitempty"`
	// Faults are broken on purpose once machines are ready (labs/fault.go).
	Faults []Fault `yaml:"faults" json:"faults,omitempty"`
	// Solution is the reference solution `tailab verify` proves (labs/solution.go).
	Solution *Solution `yaml:"solution" json:"solution,omitempty"`
	// Decision proposes each CCP's decision on the jury record (labs/decision.go).
	Decision *Decision `yaml:"decision" json:"decision,omitempty"`
	// Mutations are near misses of the solution `tailab verify --mutations`
	// proves the checks fail (labs/mutation.go).
	Mutations []Mutation `yaml:"mutations" json:"mutations,omitempty"`

	// File is the path the lab was loaded from ("" for an embedded lab: see Source).
	File string `yaml:"-" json:"file,omitempty"`
	// Source names where the lab came from, for messages: a path or "catalog:NAME".
	Source string          `yaml:"-" json:"source,omitempty"`
	Pos    yamlx.Pos       `yaml:"-" json:"-"`
	At     yamlx.Positions `yaml:"-" json:"-"`

	raw *yaml.Node // the file's root, machines merged: resolved per candidate
}

// Action is what a fault and a solution step share: one named script run on
// one machine over one transport. Its text is templated with the candidate's
// parameters (.Params, .Candidate, .Session, .Index). Fault and Step inline
// it and add their own keys, so that the strict loader still refuses a key
// that belongs to the other (a fault's `restarts:`, a step's `group:`).
type Action struct {
	Name string `yaml:"name" json:"name"`
	// Title says in French what the action does or breaks (sheets, verify's
	// table, the jury's notes).
	Title   string `yaml:"title" json:"title,omitempty"`
	Machine string `yaml:"machine" json:"machine"`
	// Transport is how the action reaches the machine (default ssh; see
	// StepTransports).
	Transport string `yaml:"transport" json:"transport,omitempty"`
	// Run is the action in its transport's language: a POSIX shell script
	// (ssh, given to `sh -s` on stdin), a PowerShell script (winrm, on stdin)
	// or LDIF change records (ldap).
	Run string `yaml:"run" json:"run"`
	// Timeout bounds the action (default 60s).
	Timeout Duration `yaml:"timeout" json:"timeout,omitempty"`

	Pos yamlx.Pos       `yaml:"-" json:"-"`
	At  yamlx.Positions `yaml:"-" json:"-"`
}

// StepTransport is the action's transport, ssh by default.
func (a *Action) StepTransport() string {
	if t := strings.TrimSpace(a.Transport); t != "" {
		return t
	}
	return "ssh"
}

// Parameter is a typed lab value, optionally drawn per candidate.
//
// Exactly one of Value, Pick or Template gives the value: Value is the same for
// every candidate; Pick draws one element per candidate, seeded by session and
// candidate so that a re-run gives the same value; Template is a Go template
// evaluated with .Index (1-based candidate number), .Candidate (id) and .Session.
type Parameter struct {
	Type        string `yaml:"type" json:"type"` // string (default), int, bool, ip, cidr
	Description string `yaml:"description" json:"description,omitempty"`
	Value       any    `yaml:"value" json:"value,omitempty"`
	Pick        []any  `yaml:"pick" json:"pick,omitempty"`
	Template    string `yaml:"template" json:"template,omitempty"`
	Distinct    bool   `yaml:"distinct" json:"distinct,omitempty"` // Pick: neighbours get different values while the list lasts

	Pos yamlx.Pos       `yaml:"-" json:"-"`
	At  yamlx.Positions `yaml:"-" json:"-"`
}

// Secret declares where a secret comes from. Machine credentials name secrets;
// their values are never printed.
type Secret struct {
	// Generate makes a random secret per candidate, kept in the session store.
	Generate bool `yaml:"generate" json:"generate,omitempty"`
	// Length of a generated secret (default 16).
	Length int `yaml:"length" json:"length,omitempty"`
	// Env reads the secret from an environment variable of the admin's shell.
	Env string `yaml:"env" json:"env,omitempty"`
	// Value is a fixed secret, e.g. the password a centre's base image ships with.
	Value string `yaml:"value" json:"-"`
	// SSHKey generates an ed25519 key pair per candidate (the private key is the secret).
	SSHKey bool `yaml:"ssh_key" json:"ssh_key,omitempty"`

	Pos yamlx.Pos       `yaml:"-" json:"-"`
	At  yamlx.Positions `yaml:"-" json:"-"`
}

// Network is a lab network. Every candidate gets their own copy, so all candidates
// use the same addressing plan without seeing each other.
type Network struct {
	Name string `yaml:"name" json:"name"`
	CIDR string `yaml:"cidr" json:"cidr"`
	Mode string `yaml:"mode" json:"mode"` // isolated (default) | nat
	// Gateway is the host's address on a nat network (default: first address).
	Gateway string `yaml:"gateway" json:"gateway,omitempty"`
	// DHCP served by the host on a nat network; on an isolated network a lab
	// machine serves DHCP itself.
	DHCP *DHCPRange `yaml:"dhcp" json:"dhcp,omitempty"`
	VLAN int        `yaml:"vlan" json:"vlan,omitempty"`

	Pos yamlx.Pos       `yaml:"-" json:"-"`
	At  yamlx.Positions `yaml:"-" json:"-"`
}

// DHCPRange is a range of addresses a DHCP server hands out.
type DHCPRange struct {
	Start string `yaml:"start" json:"start"`
	End   string `yaml:"end" json:"end"`

	At yamlx.Positions `yaml:"-" json:"-"`
}

// Machine is one machine of a lab, after the defaults → role → machine merge.
type Machine struct {
	Name     string `yaml:"name" json:"name"`
	Hostname string `yaml:"hostname" json:"hostname,omitempty"`
	Role     string `yaml:"role" json:"role"`
	Kind     string `yaml:"kind" json:"kind"` // vm | container
	OS       string `yaml:"os" json:"os"`     // windows | linux | network
	// Image is the base image of a VM: a path or a name from the image catalog.
	Image string `yaml:"image" json:"image,omitempty"`
	// Services a container runs (sshd, dnsmasq, samba-dc, smbd, httpd).
	Services []string `yaml:"services" json:"services,omitempty"`
	Files    Files    `yaml:"files" json:"files,omitempty"` // path in the machine → content (templated)
	// Tmpfs are small file systems in RAM a container gets at these paths,
	// empty at each start (a share that can fill up): the host mounts them,
	// a contained machine cannot mount anything itself.
	Tmpfs    []Tmpfs `yaml:"tmpfs" json:"tmpfs,omitempty"`
	CPUs     int     `yaml:"cpus" json:"cpus"`
	Memory   Size    `yaml:"memory" json:"memory"`
	Disks    []Disk  `yaml:"disks" json:"disks,omitempty"`
	NICs     []NIC   `yaml:"nics" json:"nics"`
	Firmware string  `yaml:"firmware" json:"firmware,omitempty"` // bios (default) | uefi
	// Credentials the grader uses, by transport (ssh, winrm, ldap, smb).
	Credentials map[string]Credential `yaml:"credentials" json:"credentials,omitempty"`
	Ready       Readiness             `yaml:"ready" json:"ready"`
	// Access is what a candidate gets on this machine through the gateway
	// (`tailab gateway`); none when absent.
	Access *Access `yaml:"access" json:"access,omitempty"`

	Pos yamlx.Pos       `yaml:"-" json:"-"`
	At  yamlx.Positions `yaml:"-" json:"-"`
}

// Access methods: how a candidate works on a machine through the gateway.
const (
	AccessSSH     = "ssh"     // a terminal (SSH side and browser tab), and the VM's console if it has one
	AccessConsole = "console" // the VM's graphical console only
)

// Access declares what a candidate gets on a machine through the gateway. The
// gateway logs in to the machine over the management path with the machine's
// ssh credentials (their key or password never leave it) as User.
type Access struct {
	// Via is ssh (default) or console (a VM's console only, no terminal).
	Via string `yaml:"via" json:"via,omitempty"`
	// User is the account the candidate's terminal opens as (default: the
	// user of the machine's ssh credentials). Its sshd must accept the
	// credentials' key or password for it.
	User string `yaml:"user" json:"user,omitempty"`
	// Ports are the machine's lab ports a candidate may reach through the
	// gateway (ssh -J, direct-tcpip), e.g. 80 for an intranet site.
	Ports []int `yaml:"ports" json:"ports,omitempty"`

	At yamlx.Positions `yaml:"-" json:"-"`
}

// Disk is an extra disk of a VM.
type Disk struct {
	Name string `yaml:"name" json:"name"`
	Size Size   `yaml:"size" json:"size"`

	At yamlx.Positions `yaml:"-" json:"-"`
}

// Tmpfs is one file system in RAM of a container (mode 1777, like /tmp).
type Tmpfs struct {
	Path string `yaml:"path" json:"path"` // absolute in the machine (templated)
	Size Size   `yaml:"size" json:"size"`

	At yamlx.Positions `yaml:"-" json:"-"`
}

// NIC attaches a machine to a lab network.
type NIC struct {
	Network string `yaml:"network" json:"network"`
	// Address is a static IPv4 address in the network, or "dhcp".
	Address string `yaml:"address" json:"address,omitempty"`
	MAC     string `yaml:"mac" json:"mac,omitempty"`

	Pos yamlx.Pos       `yaml:"-" json:"-"`
	At  yamlx.Positions `yaml:"-" json:"-"`
}

// Existing is what a lab lets tailab do to existing machines (the static
// provider grades a centre's own room): apply the drawn faults at `up`, and
// the reference solution's steps (`verify`). Both change the centre's
// machines, so both are off unless the lab says so.
type Existing struct {
	Faults   bool `yaml:"faults" json:"faults,omitempty"`
	Solution bool `yaml:"solution" json:"solution,omitempty"`

	At yamlx.Positions `yaml:"-" json:"-"`
}

// Credential is what the grader presents over one transport. Password and Key
// name secrets declared in the lab's `secrets`; they are never printed.
type Credential struct {
	User     string `yaml:"user" json:"user"`
	Password string `yaml:"password" json:"password_secret,omitempty"`
	Key      string `yaml:"key" json:"key_secret,omitempty"`
	Domain   string `yaml:"domain" json:"domain,omitempty"`
	// Identities, when the transport's credentials are named (see Identity),
	// lists them in file order; the fields above are then the first one's.
	Identities []Identity `yaml:"-" json:"identities,omitempty"`

	At yamlx.Positions `yaml:"-" json:"-"`
}

// Readiness says when a machine counts as up.
type Readiness struct {
	// TCP is a port that must accept connections.
	TCP int `yaml:"tcp" json:"tcp,omitempty"`
	// SSH waits for an SSH banner on port 22 (or TCP when set).
	SSH bool `yaml:"ssh" json:"ssh,omitempty"`
	// WinRM waits for the WS-Management listener on 5986.
	WinRM bool `yaml:"winrm" json:"winrm,omitempty"`
	// Timeout is how long to wait (default 5m for VMs, 30s for containers).
	Timeout Duration `yaml:"timeout" json:"timeout,omitempty"`

	At yamlx.Positions `yaml:"-" json:"-"`
}
