package static

import (
	"cmp"
	"encoding/hex"
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/tailab/tailab/internal/tlspin"
	"github.com/tailab/tailab/internal/userfile"
	"github.com/tailab/tailab/internal/yamlx"
	"github.com/tailab/tailab/labs"
)

// Inventory is the file that says where a room's existing machines are: per
// candidate and lab machine, the address the grader dials, its ports when
// they are not the protocol's, and its SSH host key when the centre knows it.
//
//	lab: salle-b12                 # optional: the lab it is for (checked at up)
//	known_hosts: ./known_hosts     # optional: OpenSSH known_hosts with the machines' keys
//	machines:                      # optional: per lab machine, for every candidate
//	  srv: {ports: {ssh: 2222}}
//	  dc: {address: 192.168.10.10} # one machine shared by the room
//	candidates:
//	  c01:
//	    srv: {address: 192.168.10.11, host_key: "SHA256:..."}
//	    pc1: {address: pc01.salle.lan, addresses: {lan: 192.168.10.101}}
type Inventory struct {
	File       string                          `yaml:"-" json:"-"`
	Lab        string                          `yaml:"lab" json:"lab,omitempty"`
	KnownHosts string                          `yaml:"known_hosts" json:"known_hosts,omitempty"`
	Machines   map[string]Machine              `yaml:"machines" json:"machines,omitempty"`
	Candidates map[string]map[string]Machine   `yaml:"candidates" json:"candidates"`
	Pos        yamlx.Pos                       `yaml:"-" json:"-"`
	At         yamlx.Positions                 `yaml:"-" json:"-"`
	order      map[string][]string             // candidate → machine names, as written
	positions  map[string]map[string]yamlx.Pos // candidate → machine → position of its entry
}

// Machine is one existing machine as the grader reaches it.
type Machine struct {
	// Address is the management address (IP or DNS name) the grader dials.
	Address string `yaml:"address" json:"address,omitempty"`
	// Addresses are the machine's addresses on the lab's networks (network →
	// address), for checks observed from another machine (`from`); default
	// Address on every network of the machine.
	Addresses map[string]string `yaml:"addresses" json:"addresses,omitempty"`
	// Ports by transport (ssh, winrm, ldap, ldaps, smb, http, https, dns) when
	// they are not the protocol's.
	Ports map[string]int `yaml:"ports" json:"ports,omitempty"`
	// HostKey is the SHA256 fingerprint of the machine's SSH host key
	// ("SHA256:...", as `ssh-keygen -lf` prints it): the grader accepts that
	// key only.
	HostKey string `yaml:"host_key" json:"host_key,omitempty"`
	// TLSSHA256 is the SHA-256 fingerprint of the certificate of the
	// machine's WinRM listener (hex, as tailab prints it): the grader trusts
	// that one only. Unset, the one presented at the first up is pinned.
	TLSSHA256 string `yaml:"tls_sha256" json:"tls_sha256,omitempty"`

	Pos yamlx.Pos       `yaml:"-" json:"-"`
	At  yamlx.Positions `yaml:"-" json:"-"`
}

// PortKeys are the transports an inventory may give a port for.
var PortKeys = []string{"ssh", "winrm", "ldap", "ldaps", "smb", "http", "https", "dns"}

// LoadInventoryFile reads and parses an inventory (internal/userfile: a
// regular file under the size limit).
func LoadInventoryFile(path string) (*Inventory, []byte, error) {
	data, err := userfile.Read(path)
	if err != nil {
		return nil, nil, fmt.Errorf("inventory: %w", err)
	}
	inv, err := ParseInventory(path, data)
	return inv, data, err
}

// ParseInventory decodes an inventory strictly: unknown keys, bad ports,
// addresses and fingerprints are yamlx.Diagnostics at their line and column.
// Whether it fits a lab and a roster is Check's.
func ParseInventory(file string, data []byte) (*Inventory, error) {
	root, diags := yamlx.Parse(file, data)
	if diags != nil {
		return nil, diags.Err()
	}
	if root == nil {
		return nil, yamlx.Diagnostics{{Pos: yamlx.Pos{File: file}, Message: "empty inventory: expected candidates"}}
	}
	d := yamlx.NewDecoder(file)
	inv := &Inventory{File: file}
	d.Decode(root, inv, "")
	inv.order, inv.positions = map[string][]string{}, map[string]map[string]yamlx.Pos{}
	if cands := mapValue(root, "candidates"); cands != nil {
		for i := 0; i+1 < len(cands.Content); i += 2 {
			id := cands.Content[i].Value
			inv.positions[id] = map[string]yamlx.Pos{"": d.PosOf(cands.Content[i])}
			if ms := cands.Content[i+1]; ms.Kind == yaml.MappingNode {
				for j := 0; j+1 < len(ms.Content); j += 2 {
					inv.order[id] = append(inv.order[id], ms.Content[j].Value)
					inv.positions[id][ms.Content[j].Value] = d.PosOf(ms.Content[j])
				}
			}
		}
	}
	if len(inv.Candidates) == 0 {
		d.Diags.Add(inv.At.Of("candidates", d.PosOf(root)), "candidates", "no candidates: give each candidate's machines (tailab inventory init writes a skeleton)")
	}
	for name, m := range inv.Machines {
		m.validate(d, "machines."+name, false)
	}
	for id, ms := range inv.Candidates {
		for name, m := range ms {
			m.validate(d, "candidates."+id+"."+name, false)
		}
	}
	if err := d.Diags.Err(); err != nil {
		return nil, err
	}
	return inv, nil
}

func (m Machine) validate(d *yamlx.Decoder, field string, needAddress bool) {
	if m.Address == Placeholder {
		d.Diags.Add(m.At.Of("address", m.Pos), field+".address", "replace %s with the machine's address (IP or host name)", Placeholder)
	} else if m.Address != "" && !validHost(m.Address) {
		d.Diags.Add(m.At.Of("address", m.Pos), field+".address", "%q is neither an IP address nor a host name", m.Address)
	}
	if needAddress && m.Address == "" {
		d.Diags.Add(m.Pos, field+".address", "missing address (the IP address or host name the grader dials)")
	}
	for net, a := range m.Addresses {
		if !validHost(a) {
			d.Diags.Add(m.At.Of("addresses", m.Pos), field+".addresses."+net, "%q is neither an IP address nor a host name", a)
		}
	}
	for k, p := range m.Ports {
		if !slices.Contains(PortKeys, k) {
			d.Diags.Add(m.At.Of("ports", m.Pos), field+".ports."+k, "unknown transport %q%s", k, yamlx.Suggest(k, PortKeys))
		}
		if p < 1 || p > 65535 {
			d.Diags.Add(m.At.Of("ports", m.Pos), field+".ports."+k, "port %d out of range 1-65535", p)
		}
	}
	if m.TLSSHA256 != "" {
		if _, err := hex.DecodeString(tlspin.Normalize(m.TLSSHA256)); err != nil || len(tlspin.Normalize(m.TLSSHA256)) != 64 {
			d.Diags.Add(m.At.Of("tls_sha256", m.Pos), field+".tls_sha256", "%q is not a SHA-256 fingerprint (64 hex digits, `:` allowed)", m.TLSSHA256)
		}
	}
	if m.HostKey != "" && !strings.HasPrefix(m.HostKey, "SHA256:") {
		d.Diags.Add(m.At.Of("host_key", m.Pos), field+".host_key", "%q is not a SHA256 fingerprint (SHA256:..., as ssh-keygen -lf prints it)", m.HostKey)
	}
}

// validHost: an IP address or a DNS name.
func validHost(s string) bool {
	if net.ParseIP(s) != nil {
		return true
	}
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// Entry is a candidate's machine as the inventory gives it: its own entry
// merged over the lab machine's (`machines:`); ok is false when neither
// gives an address.
func (inv *Inventory) Entry(candidate, machine string) (Machine, bool) {
	shared := inv.Machines[machine]
	own, has := inv.Candidates[candidate][machine]
	m := shared
	if has {
		m.Address = cmp.Or(own.Address, shared.Address)
		m.HostKey = cmp.Or(own.HostKey, shared.HostKey)
		m.TLSSHA256 = cmp.Or(own.TLSSHA256, shared.TLSSHA256)
		m.Addresses = mergeMaps(shared.Addresses, own.Addresses)
		m.Ports = mergeMaps(shared.Ports, own.Ports)
		m.Pos, m.At = own.Pos, own.At
	}
	return m, m.Address != ""
}

// Check reports, at their line and column, what does not fit the lab and the
// candidates: a lab name that is another, an unknown candidate, machine or
// network (with the closest name), a candidate or machine without an address.
func (inv *Inventory) Check(lab *labs.Lab, candidates []labs.Candidate) error {
	d := yamlx.NewDecoder(inv.File)
	if inv.Lab != "" && inv.Lab != lab.Name {
		d.Diags.Add(inv.At.Of("lab", inv.Pos), "lab", "the inventory is for lab %q, not %q", inv.Lab, lab.Name)
	}
	machines := map[string]*labs.Machine{}
	var names []string
	for i := range lab.Machines {
		machines[lab.Machines[i].Name] = &lab.Machines[i]
		names = append(names, lab.Machines[i].Name)
	}
	nets := map[string][]string{}
	for _, m := range lab.Machines {
		for _, nic := range m.NICs {
			nets[m.Name] = append(nets[m.Name], nic.Network)
		}
	}
	for name, m := range inv.Machines {
		if machines[name] == nil {
			d.Diags.Add(m.Pos, "machines."+name, "unknown machine %q%s", name, yamlx.Suggest(name, names))
		}
	}
	ids := map[string]bool{}
	var idList []string
	for _, c := range candidates {
		ids[c.ID] = true
		idList = append(idList, c.ID)
	}
	for _, id := range sortedKeys(inv.Candidates) {
		if !ids[id] {
			d.Diags.Add(inv.positions[id][""], "candidates."+id, "candidate %q is not in the roster%s", id, yamlx.Suggest(id, idList))
			continue
		}
		for _, name := range inv.order[id] {
			m := inv.Candidates[id][name]
			if machines[name] == nil {
				d.Diags.Add(inv.positions[id][name], "candidates."+id+"."+name, "unknown machine %q%s", name, yamlx.Suggest(name, names))
				continue
			}
			for net := range m.Addresses {
				if !slices.Contains(nets[name], net) {
					d.Diags.Add(m.At.Of("addresses", m.Pos), "candidates."+id+"."+name+".addresses."+net, "machine %q has no NIC on network %q%s", name, net, yamlx.Suggest(net, nets[name]))
				}
			}
		}
	}
	for _, c := range candidates {
		var missing []string
		for _, name := range names {
			if _, ok := inv.Entry(c.ID, name); !ok {
				missing = append(missing, name)
			}
		}
		if len(missing) == 0 {
			continue
		}
		pos, field := inv.At.Of("candidates", inv.Pos), "candidates"
		if p, ok := inv.positions[c.ID][""]; ok {
			pos, field = p, "candidates."+c.ID
		}
		d.Diags.Add(pos, field, "no address for candidate %s's machine(s) %s", c.ID, strings.Join(missing, ", "))
	}
	return d.Diags.Err()
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// mergeMaps is base with over's keys on top.
func mergeMaps[V any](base, over map[string]V) map[string]V {
	if len(base) == 0 {
		return over
	}
	out := maps.Clone(base)
	maps.Copy(out, over)
	return out
}

// mapValue is the value of key in mapping m, or nil.
func mapValue(m *yaml.Node, key string) *yaml.Node {
	for m != nil && m.Kind == yaml.AliasNode {
		m = m.Alias
	}
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// CheckSecrets refuses, in the lab file, credentials of machines tailab did
// not create whose secret tailab would make up (`generate`, `ssh_key`): no
// existing machine knows it. Their secrets come from the environment (`env`)
// or the lab (`value`).
func CheckSecrets(lab *labs.Lab) error {
	d := yamlx.NewDecoder(lab.Source)
	for i, m := range lab.Machines {
		for _, transport := range sortedKeys(m.Credentials) {
			for _, c := range m.Credentials[transport].All() {
				field := fmt.Sprintf("machines[%d].credentials.%s", i, transport)
				if c.Name != "" {
					field += "." + c.Name
				}
				for _, ref := range []struct{ key, name string }{{"password", c.Password}, {"key", c.Key}} {
					if s, ok := lab.Secrets[ref.name]; ok && (s.Generate || s.SSHKey) {
						d.Diags.Add(c.At.Of(ref.key, m.Pos), field+"."+ref.key,
							"secret %q is made up by tailab (generate, ssh_key), which an existing machine cannot know: give it with env: or value: for --provider static", ref.name)
					}
				}
			}
		}
	}
	return d.Diags.Err()
}
