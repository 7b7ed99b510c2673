package labs

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"

	"github.com/tailab/tailab/internal/yamlx"
)

var (
	nameRe = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)
	macRe  = regexp.MustCompile(`^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$`)
)

// Services a container machine can run.
var Services = []string{"sshd", "dnsmasq", "samba-dc", "smbd", "httpd"}

// Transports the grader can use to reach a machine.
var Transports = []string{"ssh", "winrm", "ldap", "smb", "http"}

// ParameterTypes are the types a lab parameter may have.
var ParameterTypes = []string{"string", "int", "bool", "ip", "cidr"}

func templated(s string) bool { return strings.Contains(s, "{{") }

// leftover reports a text people read (a title, a description) that still
// holds "{{" once rendered for a candidate: it would reach a sheet or a
// record as template text.
func leftover(d *yamlx.Decoder, pos yamlx.Pos, field, rendered string) {
	d.Diags.Add(pos, field, "still holds {{ once rendered (%q): candidates and the jury would read template text", rendered)
}

func oneOf(v string, valid []string) bool {
	for _, x := range valid {
		if v == x {
			return true
		}
	}
	return false
}

// validate reports semantic mistakes. Before resolution (resolved=false), values
// that hold a template are left for the trial resolution to check.
func (l *Lab) validate(d *yamlx.Decoder, resolved bool) {
	at := func(ps yamlx.Positions, key string, fallback yamlx.Pos) yamlx.Pos { return ps.Of(key, fallback) }
	check := func(s string) bool { return resolved || !templated(s) }
	errf := func(pos yamlx.Pos, field, format string, args ...any) { d.Diags.Add(pos, field, format, args...) }

	if resolved && templated(l.Description) {
		leftover(d, at(l.At, "description", l.Pos), "description", l.Description)
	}
	if l.Name == "" {
		errf(l.Pos, "name", "a lab needs a name")
	} else if check(l.Name) && !nameRe.MatchString(l.Name) {
		errf(at(l.At, "name", l.Pos), "name", "%q: use lower-case letters, digits and '-', starting with a letter, at most 32 characters", l.Name)
	}
	if !resolved {
		for name, p := range l.Parameters {
			p.validate(d, "parameters."+name)
		}
		for name, s := range l.Secrets {
			s.validate(d, "secrets."+name)
		}
	}

	nets := map[string]*Network{}
	prefixes := map[string]netip.Prefix{}
	for i := range l.Networks {
		n := &l.Networks[i]
		field := fmt.Sprintf("networks[%d]", i)
		switch {
		case n.Name == "":
			errf(n.Pos, field+".name", "a network needs a name")
		case check(n.Name) && !nameRe.MatchString(n.Name):
			errf(at(n.At, "name", n.Pos), field+".name", "%q: use lower-case letters, digits and '-', starting with a letter", n.Name)
		case nets[n.Name] != nil:
			errf(at(n.At, "name", n.Pos), field+".name", "network %q is declared twice (first at line %d)", n.Name, nets[n.Name].Pos.Line)
		default:
			nets[n.Name] = n
		}
		switch n.Mode {
		case "":
			n.Mode = ModeIsolated
		case ModeIsolated, ModeNAT:
		default:
			errf(at(n.At, "mode", n.Pos), field+".mode", "unknown mode %q (valid: isolated, nat)", n.Mode)
		}
		if n.CIDR == "" {
			errf(n.Pos, field+".cidr", "a network needs a cidr, e.g. 10.10.0.0/24")
		} else if check(n.CIDR) {
			p, err := netip.ParsePrefix(n.CIDR)
			switch {
			case err != nil || !p.Addr().Is4():
				errf(at(n.At, "cidr", n.Pos), field+".cidr", "%q is not an IPv4 network such as 10.10.0.0/24", n.CIDR)
			case p.Masked() != p:
				errf(at(n.At, "cidr", n.Pos), field+".cidr", "%q has host bits set (did you mean %s?)", n.CIDR, p.Masked())
			case p.Bits() > 30 || p.Bits() < 8:
				errf(at(n.At, "cidr", n.Pos), field+".cidr", "%q: the prefix length must be between /8 and /30", n.CIDR)
			default:
				prefixes[n.Name] = p
			}
		}
		p, hasPrefix := prefixes[n.Name]
		inNet := func(key, s string, pos yamlx.Pos) (netip.Addr, bool) {
			if !check(s) {
				return netip.Addr{}, false
			}
			a, err := netip.ParseAddr(s)
			if err != nil || !a.Is4() {
				errf(pos, field+"."+key, "%q is not an IPv4 address", s)
				return netip.Addr{}, false
			}
			if hasPrefix && !usable(p, a) {
				errf(pos, field+"."+key, "%s is not a usable address of %s", s, p)
				return netip.Addr{}, false
			}
			return a, hasPrefix
		}
		if n.Gateway != "" {
			if n.Mode != ModeNAT {
				errf(at(n.At, "gateway", n.Pos), field+".gateway", "only a nat network has a host gateway; on an isolated network a lab machine (a router) is the gateway")
			}
			inNet("gateway", n.Gateway, at(n.At, "gateway", n.Pos))
		}
		if n.DHCP != nil {
			if n.Mode != ModeNAT {
				errf(at(n.At, "dhcp", n.Pos), field+".dhcp", "the host serves DHCP only on a nat network; on an isolated network run DHCP in a lab machine (services: [dnsmasq])")
			}
			s, ok1 := inNet("dhcp.start", n.DHCP.Start, n.DHCP.At.Of("start", at(n.At, "dhcp", n.Pos)))
			e, ok2 := inNet("dhcp.end", n.DHCP.End, n.DHCP.At.Of("end", at(n.At, "dhcp", n.Pos)))
			if ok1 && ok2 && e.Less(s) {
				errf(n.DHCP.At.Of("end", n.Pos), field+".dhcp.end", "the range ends (%s) before it starts (%s)", e, s)
			}
		}
		if n.VLAN != 0 && (n.VLAN < 1 || n.VLAN > 4094) {
			errf(at(n.At, "vlan", n.Pos), field+".vlan", "VLAN %d out of range 1-4094", n.VLAN)
		}
	}

	machines := map[string]*Machine{}
	used := map[string]map[netip.Addr]string{} // network → address → machine.nic
	for i := range l.Machines {
		m := &l.Machines[i]
		field := fmt.Sprintf("machines[%d]", i)
		switch {
		case m.Name == "":
			errf(m.Pos, field+".name", "a machine needs a name")
		case check(m.Name) && !nameRe.MatchString(m.Name):
			errf(at(m.At, "name", m.Pos), field+".name", "%q: use lower-case letters, digits and '-', starting with a letter", m.Name)
		case machines[m.Name] != nil:
			errf(at(m.At, "name", m.Pos), field+".name", "machine %q is declared twice (first at line %d)", m.Name, machines[m.Name].Pos.Line)
		default:
			machines[m.Name] = m
		}
		l.validateMachine(d, m, field, check, nets, prefixes, used)
	}
	if len(l.Machines) == 0 {
		errf(at(l.At, "machines", l.Pos), "machines", "a lab needs at least one machine")
	}
	l.validateScenario(d, resolved) // faults and solution: labs/solution.go
	if l.Decision != nil && !resolved {
		l.Decision.validate(d)
	}
}

// usable reports whether a is a host address of p (not the network or broadcast address).
func usable(p netip.Prefix, a netip.Addr) bool {
	if !p.Contains(a) || a == p.Addr() {
		return false
	}
	last := p.Addr().As4()
	host := 32 - p.Bits()
	v := uint32(last[0])<<24 | uint32(last[1])<<16 | uint32(last[2])<<8 | uint32(last[3])
	v |= (1 << host) - 1
	b := a.As4()
	return uint32(b[0])<<24|uint32(b[1])<<16|uint32(b[2])<<8|uint32(b[3]) != v
}

func (l *Lab) validateMachine(d *yamlx.Decoder, m *Machine, field string, check func(string) bool,
	nets map[string]*Network, prefixes map[string]netip.Prefix, used map[string]map[netip.Addr]string) {
	errf := func(key, format string, args ...any) {
		d.Diags.Add(m.At.Of(key, m.Pos), field+"."+key, format, args...)
	}
	if m.Role == "" {
		errf("role", "a machine needs a role (valid: %s)", strings.Join(Roles, ", "))
	} else if check(m.Role) && !oneOf(m.Role, Roles) {
		errf("role", "unknown role %q%s", m.Role, yamlx.Suggest(m.Role, Roles))
	}
	switch m.Kind {
	case "":
		errf("kind", "a machine needs a kind: vm or container")
	case KindVM, KindContainer:
	default:
		errf("kind", "unknown kind %q (valid: vm, container)", m.Kind)
	}
	switch m.OS {
	case "":
		errf("os", "a machine needs an os: windows, linux or network")
	case OSWindows, OSLinux, OSNetwork:
	default:
		errf("os", "unknown os %q (valid: windows, linux, network)", m.OS)
	}
	if m.Kind == KindVM && m.Image == "" {
		errf("image", "a vm needs a base image (a path or a name from the image catalog)")
	}
	if m.Kind == KindContainer {
		if m.OS != "" && m.OS != OSLinux {
			errf("os", "a container runs linux, not %s; use kind: vm", m.OS)
		}
		if m.Image != "" {
			errf("image", "a container has no base image: it shares the host's root read-only and runs `services`")
		}
		if len(m.Disks) > 0 {
			errf("disks", "a container has no disks; use kind: vm")
		}
		if m.Firmware != "" {
			errf("firmware", "a container has no firmware; use kind: vm")
		}
	} else if len(m.Tmpfs) > 0 {
		errf("tmpfs", "only a container has tmpfs; a vm mounts what its image says")
	}
	for j, tf := range m.Tmpfs {
		f := fmt.Sprintf("%s.tmpfs[%d]", field, j)
		if err := MachinePath(tf.Path); err != nil {
			d.Diags.Add(tf.At.Of("path", m.Pos), f+".path", "%v", err)
		} else if tf.Path == "/srv" || tf.Path == "/srv/lib" || strings.HasPrefix(tf.Path, "/srv/lib/") || tf.Path == "/run" || tf.Path == "/tmp" {
			d.Diags.Add(tf.At.Of("path", m.Pos), f+".path", "%s is tailab's own mount in a container", tf.Path)
		}
		if tf.Size < 1*MiB || tf.Size > 1*GiB {
			d.Diags.Add(tf.At.Of("size", m.Pos), f+".size", "a tmpfs needs a size between 1MiB and 1GiB")
		}
	}
	for j, s := range m.Services {
		if !oneOf(s, Services) {
			d.Diags.Add(m.At.Of("services", m.Pos), fmt.Sprintf("%s.services[%d]", field, j), "unknown service %q%s", s, yamlx.Suggest(s, Services))
		}
	}
	if len(m.Services) > 0 && m.Kind == KindVM {
		errf("services", "services are started in containers; a vm runs what its image holds")
	}
	if m.CPUs < 0 || m.CPUs > 64 {
		errf("cpus", "%d CPUs makes no sense for a lab machine (1-64)", m.CPUs)
	}
	minMem := 16 * MiB
	if m.Kind == KindVM {
		minMem = 64 * MiB
		if m.OS == OSWindows {
			minMem = 1 * GiB
		}
	}
	if m.Memory != 0 && (m.Memory < minMem || m.Memory > 1*TiB) {
		errf("memory", "%s is not a sensible memory size for a %s %s (at least %s)", m.Memory, m.OS, m.Kind, minMem)
	}
	for j, dk := range m.Disks {
		f := fmt.Sprintf("%s.disks[%d]", field, j)
		if dk.Size < 1*MiB || dk.Size > 16*TiB {
			d.Diags.Add(dk.At.Of("size", m.Pos), f+".size", "a disk needs a size between 1MiB and 16TiB")
		}
	}
	switch m.Firmware {
	case "", "bios", "uefi":
	default:
		errf("firmware", "unknown firmware %q (valid: bios, uefi)", m.Firmware)
	}
	if len(m.NICs) == 0 {
		errf("nics", "a machine needs at least one NIC on a lab network")
	}
	for j, nic := range m.NICs {
		f := fmt.Sprintf("%s.nics[%d]", field, j)
		nerr := func(key, format string, args ...any) {
			d.Diags.Add(nic.At.Of(key, nic.Pos), f+"."+key, format, args...)
		}
		n, ok := nets[nic.Network]
		if nic.Network == "" {
			nerr("network", "a NIC needs a network")
		} else if !ok && check(nic.Network) {
			names := make([]string, 0, len(nets))
			for k := range nets {
				names = append(names, k)
			}
			nerr("network", "no network named %q%s", nic.Network, yamlx.Suggest(nic.Network, names))
		}
		if nic.MAC != "" && check(nic.MAC) && !macRe.MatchString(nic.MAC) {
			nerr("mac", "%q is not a MAC address such as 52:54:00:12:34:56", nic.MAC)
		}
		if nic.Address == "" || nic.Address == "dhcp" || !check(nic.Address) {
			continue
		}
		a, err := netip.ParseAddr(nic.Address)
		if err != nil || !a.Is4() {
			nerr("address", "%q is not an IPv4 address (or \"dhcp\")", nic.Address)
			continue
		}
		p, hasPrefix := prefixes[nic.Network]
		if !ok || !hasPrefix {
			continue
		}
		if !usable(p, a) {
			nerr("address", "%s is outside network %s (%s)", a, n.Name, p)
			continue
		}
		if n.Mode == ModeNAT && a == gatewayOf(n, p) {
			nerr("address", "%s is the host's gateway address on network %s", a, n.Name)
		}
		if used[n.Name] == nil {
			used[n.Name] = map[netip.Addr]string{}
		}
		if prev, dup := used[n.Name][a]; dup {
			nerr("address", "%s is already used by %s on network %s", a, prev, n.Name)
			continue
		}
		used[n.Name][a] = m.Name
	}
	for transport, cs := range m.Credentials {
		f0 := field + ".credentials." + transport
		if !oneOf(transport, Transports) {
			d.Diags.Add(m.At.Of("credentials", m.Pos), f0, "unknown transport %q%s", transport, yamlx.Suggest(transport, Transports))
		}
		for _, c := range cs.All() {
			f := f0
			if c.Name != "" {
				f += "." + c.Name
			}
			if c.Password == "" && c.Key == "" {
				d.Diags.Add(m.At.Of("credentials", m.Pos), f, "credentials need a password or a key (the name of a secret)")
			}
			for _, ref := range []struct{ key, name string }{{"password", c.Password}, {"key", c.Key}} {
				if ref.name == "" || !check(ref.name) {
					continue
				}
				if _, ok := l.Secrets[ref.name]; !ok {
					names := make([]string, 0, len(l.Secrets))
					for k := range l.Secrets {
						names = append(names, k)
					}
					d.Diags.Add(c.At.Of(ref.key, m.Pos), f+"."+ref.key, "no secret named %q in `secrets`%s", ref.name, yamlx.Suggest(ref.name, names))
				}
			}
		}
	}
	m.Access.validate(d, m, field+".access")
	if m.Ready.TCP < 0 || m.Ready.TCP > 65535 {
		d.Diags.Add(m.Ready.At.Of("tcp", m.Pos), field+".ready.tcp", "port %d out of range", m.Ready.TCP)
	}
}

// gatewayOf returns the host's address on a nat network: Gateway, or the first host address.
func gatewayOf(n *Network, p netip.Prefix) netip.Addr {
	if a, err := netip.ParseAddr(n.Gateway); err == nil {
		return a
	}
	return p.Addr().Next()
}

func (p *Parameter) validate(d *yamlx.Decoder, field string) {
	if p.Type == "" {
		p.Type = "string"
	}
	if !oneOf(p.Type, ParameterTypes) {
		d.Diags.Add(p.At.Of("type", p.Pos), field+".type", "unknown type %q (valid: %s)", p.Type, strings.Join(ParameterTypes, ", "))
	}
	sources := 0
	if p.Value != nil {
		sources++
	}
	if len(p.Pick) > 0 {
		sources++
	}
	if p.Template != "" {
		sources++
	}
	if sources != 1 {
		d.Diags.Add(p.Pos, field, "a parameter needs exactly one of value, pick or template")
	}
	if p.Value != nil {
		if _, err := typed(p.Type, p.Value); err != nil {
			d.Diags.Add(p.At.Of("value", p.Pos), field+".value", "%v is %v", p.Value, err)
		}
	}
	for i, v := range p.Pick {
		if _, err := typed(p.Type, v); err != nil {
			d.Diags.Add(p.At.Of("pick", p.Pos), fmt.Sprintf("%s.pick[%d]", field, i), "%v is %v", v, err)
		}
	}
	if p.Distinct && len(p.Pick) == 0 {
		d.Diags.Add(p.At.Of("distinct", p.Pos), field+".distinct", "distinct applies to pick")
	}
}

func (s *Secret) validate(d *yamlx.Decoder, field string) {
	sources := 0
	for _, b := range []bool{s.Generate, s.Env != "", s.Value != "", s.SSHKey} {
		if b {
			sources++
		}
	}
	if sources != 1 {
		d.Diags.Add(s.Pos, field, "a secret needs exactly one of generate, env, value or ssh_key")
	}
	if s.Length != 0 && (s.Length < 8 || s.Length > 128) {
		d.Diags.Add(s.At.Of("length", s.Pos), field+".length", "length must be between 8 and 128")
	}
}

func (a *Access) validate(d *yamlx.Decoder, m *Machine, field string) {
	if a == nil {
		return
	}
	pos := m.At.Of("access", m.Pos)
	switch a.Via {
	case "", AccessSSH:
		ssh, ok := m.Credentials["ssh"]
		if !ok {
			d.Diags.Add(a.At.Of("via", pos), field, "a terminal through the gateway needs the machine's ssh credentials (the gateway logs in with them)")
		}
		if a.User == "" && ok {
			a.User = ssh.User
		}
	case AccessConsole:
		if m.Kind != KindVM {
			d.Diags.Add(a.At.Of("via", pos), field+".via", "only a vm has a console; use via: ssh")
		}
	default:
		d.Diags.Add(a.At.Of("via", pos), field+".via", "unknown access %q (valid: %s, %s)", a.Via, AccessSSH, AccessConsole)
	}
	for j, p := range a.Ports {
		if p < 1 || p > 65535 {
			d.Diags.Add(a.At.Of("ports", pos), fmt.Sprintf("%s.ports[%d]", field, j), "port %d out of range", p)
		}
	}
}
