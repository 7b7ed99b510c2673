package libvirt

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"libvirt.org/go/libvirtxml"

	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
)

var _ provision.Accessor = (*Provider)(nil)

// Access lists how to reach every machine of the instances: a VM's VNC console
// (address and the port libvirt gave it, read from the live domain), and the
// SSH / WinRM / RDP endpoints its lab declares, on its lab addresses (what a
// candidate uses from another lab machine) and on its management address (the
// admin's and the grader's way in, with the session's keys).
func (p *Provider) Access(ctx context.Context, s *provision.Session, ins []*labs.Instance) ([]provision.MachineAccess, error) {
	if p.multi() {
		return p.accessHosts(ctx, s, ins)
	}
	_, specs, err := p.specs(s, ins)
	if err != nil {
		return nil, err
	}
	doms, err := p.listDomains(types(specs), s.Name)
	if err != nil {
		return nil, err
	}
	out := make([]provision.MachineAccess, 0, len(specs))
	for _, sp := range specs {
		if err := ctxErr(ctx); err != nil {
			return nil, err
		}
		ms := p.state(sp, provision.StateMissing, nil)
		a := provision.MachineAccess{
			Session: s.Name, Candidate: sp.Candidate, Machine: sp.Machine.Name, Kind: sp.Machine.Kind,
			OS: sp.Machine.OS, Role: sp.Machine.Role, State: provision.StateMissing,
			MgmtAddress: ms.MgmtAddress, Addresses: ms.Addresses, Endpoints: endpoints(sp),
		}
		e, ok := doms[sp.Domain]
		switch {
		case ok && e.Active:
			a.State = provision.StateRunning
		case ok:
			a.State = provision.StateStopped
		}
		if sp.Type == "qemu" && sp.Console.Listen != "" {
			a.Console = &provision.Console{Type: "vnc", Host: sp.Console.Listen}
			if ok && e.Active {
				host, port, err := p.liveVNC(sp.Domain)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", sp.Domain, err)
				}
				a.Console.Port = port
				if host != "" {
					a.Console.Host = host
				}
			}
		}
		out = append(out, a)
	}
	return out, nil
}

// liveVNC reads the VNC listen address and port of a running domain (with
// autoport, the port is known only once it runs).
func (p *Provider) liveVNC(domain string) (string, int, error) {
	c, err := p.conn("qemu")
	if err != nil {
		return "", 0, err
	}
	dom, err := c.LookupDomainByName(domain)
	if err != nil {
		return "", 0, err
	}
	defer dom.Free()
	x, err := dom.GetXMLDesc(0)
	if err != nil {
		return "", 0, fmt.Errorf("domain XML: %w", err)
	}
	var d libvirtxml.Domain
	if err := d.Unmarshal(x); err != nil {
		return "", 0, fmt.Errorf("domain XML: %w", err)
	}
	if d.Devices != nil {
		for _, g := range d.Devices.Graphics {
			if g.VNC != nil && g.VNC.Port > 0 {
				return g.VNC.Listen, g.VNC.Port, nil
			}
		}
	}
	return "", 0, nil
}

// endpoints lists a machine's login services from its credentials: on every
// static lab address, and on the management address (network "mgmt").
func endpoints(sp *machineSpec) []provision.Endpoint {
	type svc struct {
		proto string
		port  int
		user  string
	}
	var svcs []svc
	for _, tr := range slices.Sorted(maps.Keys(sp.Machine.Credentials)) {
		c := sp.Machine.Credentials[tr]
		switch tr {
		case "ssh":
			svcs = append(svcs, svc{"ssh", 22, c.User})
		case "winrm":
			svcs = append(svcs, svc{"winrm", 5986, c.User})
			if sp.Machine.OS == labs.OSWindows {
				svcs = append(svcs, svc{"rdp", 3389, c.User})
			}
		}
	}
	var out []provision.Endpoint
	for _, s := range svcs {
		for _, n := range sp.NICs {
			if n.Lab != "" && n.Address != "" {
				out = append(out, provision.Endpoint{Proto: s.proto, Address: n.Address, Port: s.port, User: s.user, Network: n.Lab})
			}
		}
		if s.proto != "rdp" {
			out = append(out, provision.Endpoint{Proto: s.proto, Address: sp.Mgmt.String(), Port: s.port, User: s.user, Network: "mgmt"})
		}
	}
	return out
}
