package libvirt

import (
	"fmt"
	"sort"
	"strings"

	"github.com/tailab/tailab/internal/userfile"
	"github.com/tailab/tailab/internal/yamlx"
)

// Host is one libvirt host the provider may place labs on: a name (what plans,
// `status` and the store show) and the URIs of its QEMU and LXC drivers. Any
// URI libvirt accepts works: qemu:///system?socket=..., qemu+ssh://root@kvm1/system,
// qemu+tls://kvm2/system.
type Host struct {
	Name string `yaml:"name"`
	QEMU string `yaml:"qemu"`
	LXC  string `yaml:"lxc,omitempty"`
	// HostVar is that host's real /var as its daemon sees it (Config.HostVar),
	// for a libvirtd with a private /var; empty: Config.HostVar.
	HostVar string `yaml:"host-var,omitempty"`
}

// hostsFile is the YAML document of --hosts FILE.
type hostsFile struct {
	Hosts []Host `yaml:"hosts"`
}

// ParseHostSpec parses "NAME=QEMU_URI[,LXC_URI]" (the --host flag). Without an
// LXC URI, it is the QEMU URI with the driver name changed (qemu+ssh://h/system
// → lxc+ssh://h/system, query kept).
func ParseHostSpec(spec string) (Host, error) {
	name, uris, ok := strings.Cut(strings.TrimSpace(spec), "=")
	if !ok || name == "" || uris == "" {
		return Host{}, fmt.Errorf("host %q: want NAME=QEMU_URI[,LXC_URI]", spec)
	}
	qemu, lxc, _ := strings.Cut(uris, ",")
	h := Host{Name: name, QEMU: qemu, LXC: lxc}
	return h, h.fill()
}

// fill checks a host and derives its LXC URI when missing.
func (h *Host) fill() error {
	if h.Name == "" {
		return fmt.Errorf("host with URI %q: no name", h.QEMU)
	}
	if strings.ContainsAny(h.Name, " \t,=/") {
		return fmt.Errorf("host %q: a name has no spaces, commas, '=' or '/'", h.Name)
	}
	if h.QEMU == "" {
		return fmt.Errorf("host %s: no qemu URI", h.Name)
	}
	if h.LXC == "" {
		h.LXC = lxcURIFor(h.QEMU)
	}
	return nil
}

// lxcURIFor turns a QEMU URI into the same host's LXC URI.
func lxcURIFor(qemu string) string {
	if rest, ok := strings.CutPrefix(qemu, "qemu"); ok {
		return "lxc" + rest
	}
	return qemu // test:///..., or a driver-less URI: the same connection serves both
}

// LoadHostsFile reads a hosts file:
//
//	hosts:
//	  - {name: kvm1, qemu: "qemu+ssh://root@kvm1/system"}
//	  - {name: kvm2, qemu: "qemu+tls://kvm2/system", lxc: "lxc+tls://kvm2/system"}
func LoadHostsFile(path string) ([]Host, error) {
	data, err := userfile.Read(path)
	if err != nil {
		return nil, fmt.Errorf("hosts file: %w", err)
	}
	n, diags := yamlx.Parse(path, data)
	if err := diags.Err(); err != nil {
		return nil, err
	}
	var f hostsFile
	if err := yamlx.Decode(path, n, &f).Err(); err != nil {
		return nil, err
	}
	if len(f.Hosts) == 0 {
		return nil, fmt.Errorf("%s: no hosts", path)
	}
	for i := range f.Hosts {
		if err := f.Hosts[i].fill(); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return f.Hosts, checkHosts(f.Hosts)
}

// LoadHosts reads the hosts labs are spread over: those of a YAML file (none
// when file is "") and NAME=QEMU_URI[,LXC_URI] specs, in that order. None:
// nil (the single host of Config.QEMU and Config.LXC).
func LoadHosts(file string, specs []string) ([]Host, error) {
	var out []Host
	if file != "" {
		hs, err := LoadHostsFile(file)
		if err != nil {
			return nil, err
		}
		out = append(out, hs...)
	}
	for _, spec := range specs {
		if strings.TrimSpace(spec) == "" {
			continue
		}
		h, err := ParseHostSpec(spec)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, checkHosts(out)
}

// checkHosts refuses duplicate names or URIs.
func checkHosts(hs []Host) error {
	names, uris := map[string]bool{}, map[string]string{}
	for _, h := range hs {
		if names[h.Name] {
			return fmt.Errorf("host %s is listed twice", h.Name)
		}
		names[h.Name] = true
		if prev, dup := uris[h.QEMU]; dup {
			return fmt.Errorf("hosts %s and %s have the same URI %s", prev, h.Name, h.QEMU)
		}
		uris[h.QEMU] = h.Name
	}
	return nil
}

// multi reports whether this provider spreads labs over a list of hosts (a
// host view, or a provider of one default host, works on one host).
func (p *Provider) multi() bool { return p.parent == nil && len(p.cfg.Hosts) > 0 }

// hosts lists the hosts: the configured ones, or the default one.
func (p *Provider) hosts() []Host {
	if len(p.cfg.Hosts) > 0 {
		return p.cfg.Hosts
	}
	return []Host{{QEMU: p.cfg.QEMU, LXC: p.cfg.LXC}}
}

// on returns a view of the provider bound to one host: same files and
// configuration, that host's URIs, connections shared with p (by URI).
func (p *Provider) on(h Host) *Provider {
	cfg := p.cfg
	cfg.QEMU, cfg.LXC, cfg.Hosts = h.QEMU, h.LXC, nil
	cfg.DaemonPID = 0 // each host's own, from its socket
	if h.HostVar != "" {
		cfg.HostVar = h.HostVar
	}
	root := p
	if p.parent != nil {
		root = p.parent
	}
	return &Provider{cfg: cfg, parent: root, hostName: h.Name}
}

// host finds a configured host by name ("" and unknown names: the first one).
func (p *Provider) host(name string) Host {
	hs := p.hosts()
	for _, h := range hs {
		if h.Name == name {
			return h
		}
	}
	return hs[0]
}

// hostLabel is what plans and machine states record as a resource's host: the
// host's name, or for the single default host its URI (as before hosts existed).
func (p *Provider) hostLabel(typ string) string {
	if p.hostName != "" {
		return p.hostName
	}
	if typ == "qemu" {
		return p.cfg.QEMU
	}
	return p.cfg.LXC
}

// HostNames lists the configured hosts' names, sorted (empty with one default host).
func (p *Provider) HostNames() []string {
	var out []string
	for _, h := range p.cfg.Hosts {
		out = append(out, h.Name)
	}
	sort.Strings(out)
	return out
}
