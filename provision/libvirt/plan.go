package libvirt

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/provision/naming"
)

// planDetail is the libvirt part of a plan, for Apply.
type planDetail struct {
	Types      []string // domain types the session needs
	Networks   []netSpec
	Specs      []*machineSpec
	Ops        map[string]provision.Op // resource name → op
	Remove     []existingDomain
	RemoveNets []string
}

type netSpec struct {
	Name, Candidate, XML string
}

// specs builds what every machine of every instance needs.
func (p *Provider) specs(s *provision.Session, ins []*labs.Instance) ([]netSpec, []*machineSpec, error) {
	mgmtXML, err := mgmtNetworkXML(s.Name, s.MgmtCIDR)
	if err != nil {
		return nil, nil, err
	}
	if p.contained() && hasContainers(ins) {
		if err := CheckRootFS(p.cfg.RootFS); err != nil {
			return nil, nil, err
		}
	}
	nets := []netSpec{{Name: naming.MgmtNetworkName(s.Name), XML: mgmtXML}}
	natSubnets := map[string]string{}
	var specs []*machineSpec
	for _, in := range ins {
		c := in.Candidate.ID
		for i := range in.Networks {
			n := &in.Networks[i]
			name := naming.NetworkName(s.Name, c, n.Name)
			if n.Mode == labs.ModeNAT {
				if prev, dup := natSubnets[n.CIDR]; dup {
					return nil, nil, fmt.Errorf("nat network %s (%s) of candidate %s overlaps %s: a nat network gives the host an address, so each candidate needs its own subnet (use a parameter template such as \"10.{{ add 100 .Index }}.0.0/24\")", n.Name, n.CIDR, c, prev)
				}
				natSubnets[n.CIDR] = name
			}
			x, err := networkXML(name, n)
			if err != nil {
				return nil, nil, fmt.Errorf("candidate %s network %s: %w", c, n.Name, err)
			}
			nets = append(nets, netSpec{Name: name, Candidate: c, XML: x})
		}
		for mi := range in.Machines {
			sp, err := p.machineSpec(s, in, mi)
			if err != nil {
				return nil, nil, fmt.Errorf("candidate %s machine %s: %w", c, in.Machines[mi].Name, err)
			}
			specs = append(specs, sp)
		}
	}
	return nets, specs, nil
}

func (p *Provider) machineSpec(s *provision.Session, in *labs.Instance, mi int) (*machineSpec, error) {
	m := in.Machines[mi]
	c := in.Candidate
	sp := &machineSpec{
		Session: s.Name, Candidate: c.ID, Lab: s.Lab, CandidateIndex: c.Index,
		Machine: m, Index: mi, Domain: naming.DomainName(s.Name, c.ID, m.Name),
		Dir: filepath.Join(p.cfg.DataDir, "machines", s.Name, c.ID, m.Name),
	}
	addr, err := provision.Addressing(s, in, mi)
	if err != nil {
		return nil, err
	}
	sp.Mgmt = addr.Mgmt
	for _, n := range addr.NICs {
		network := naming.MgmtNetworkName(s.Name)
		if !n.Mgmt {
			network = naming.NetworkName(s.Name, c.ID, n.Lab)
		}
		sp.NICs = append(sp.NICs, nicSpec{Network: network, Lab: n.Lab, Dev: n.Dev, MAC: n.MAC,
			Address: n.Address, Prefix: n.Prefix, Gateway: n.Gateway, DHCP: n.DHCP, Isolated: n.Mgmt})
	}
	var x string
	t := tag{Session: s.Name, Candidate: c.ID, Lab: s.Lab, Machine: m.Name}
	switch m.Kind {
	case labs.KindContainer:
		sp.Type = "lxc"
		sp.SharedDir = filepath.Join(p.cfg.DataDir, "machines", s.Name, ".lib")
		root := "/"
		if p.contained() {
			sp.Contained, root = true, p.cfg.RootFS
			_, sp.Mounts = p.containerMounts(sp)
			if p.mgmtFiltered() {
				sp.NICs[len(sp.NICs)-1].Port = MgmtPortName(sp.Domain)
			}
		} else {
			sp.HostVar = p.cfg.HostVar
			sp.Hide = hiddenDirs(p.cfg.DataDir)
		}
		for path := range m.Files {
			if !strings.HasPrefix(path, "/srv/") && !fileExists(filepath.Join(root, path)) {
				return nil, fmt.Errorf("file %s: a container's files live under /srv or replace a file that exists in its root file system %s (read-only)", path, root)
			}
		}
		x, err = containerXML(sp, t)
	default:
		sp.Type = "qemu"
		sp.Console.Listen = p.cfg.ConsoleListen
		// Not `img, err :=`: a new err here would hide vmXML's error
		// from the check after the switch.
		var img *image
		img, err = resolveImage(p.cfg.ImageDir, m.Image)
		if err != nil {
			return nil, err
		}
		sp.Image = img
		if img.Kernel == "" {
			img.Seed = filepath.Join(sp.Dir, "seed.iso")
		}
		sp.Volumes = []volumeSpec{{Name: naming.VolumeName(s.Name, c.ID, m.Name, 0), Backing: img.Disk}}
		for k, dk := range m.Disks {
			sp.Volumes = append(sp.Volumes, volumeSpec{Name: naming.VolumeName(s.Name, c.ID, m.Name, k+1), Size: dk.Size})
		}
		x, err = vmXML(sp, t, p.cfg.VirtType, p.cfg.PoolDir)
	}
	if err != nil {
		return nil, err
	}
	sp.Hash = specHash(x, fmt.Sprint(m.Services), fmt.Sprint(m.Files))
	return sp, nil
}

func hasContainers(ins []*labs.Instance) bool {
	for _, in := range ins {
		for _, m := range in.Machines {
			if m.Kind == labs.KindContainer {
				return true
			}
		}
	}
	return false
}

// hiddenDirs are covered by an empty tmpfs inside containers: the host's
// private material, including every candidate's machine dirs and keys.
func hiddenDirs(dataDir string) []string {
	out := []string{"/root", "/home"}
	if abs, err := filepath.Abs(dataDir); err == nil && !strings.HasPrefix(abs, "/root/") && !strings.HasPrefix(abs, "/home/") {
		out = append(out, abs)
	}
	return out
}

// Plan compares the session's instances with what exists on the host.
func (p *Provider) Plan(ctx context.Context, s *provision.Session, ins []*labs.Instance) (*provision.Plan, error) {
	if p.multi() {
		return p.planHosts(ctx, s, ins)
	}
	nets, specs, err := p.specs(s, ins)
	if err != nil {
		return nil, err
	}
	d := &planDetail{Types: types(specs), Networks: nets, Specs: specs, Ops: map[string]provision.Op{}}
	if len(d.Types) == 0 {
		d.Types = []string{"lxc"}
	}
	plan := &provision.Plan{Session: s, Instances: ins, Private: d}
	existing, err := p.listDomains(d.Types, s.Name)
	if err != nil {
		return nil, err
	}
	existingNets, err := p.listNetworks(d.Types[0], s.Name)
	if err != nil {
		return nil, err
	}
	host := p.hostLabel(d.Types[0])
	candidates := map[string]bool{}
	for _, in := range ins {
		candidates[in.Candidate.ID] = true
	}
	wanted := map[string]bool{}
	for _, n := range nets {
		wanted[n.Name] = true
		op, reason := provision.OpCreate, ""
		if active, ok := existingNets[n.Name]; ok {
			op = provision.OpKeep
			if !active {
				reason = "defined but inactive: will be started"
			}
		}
		d.Ops[n.Name] = op
		plan.Actions = append(plan.Actions, provision.Action{Op: op, Reason: reason,
			Resource: provision.Resource{Type: "network", Name: n.Name, Candidate: n.Candidate, Host: host}})
	}
	for _, sp := range specs {
		wanted[sp.Domain] = true
		op, reason := provision.OpCreate, ""
		if e, ok := existing[sp.Domain]; ok {
			switch {
			case e.Tag.Spec != sp.Hash:
				op, reason = provision.OpReplace, "the lab changed since it was created"
			case !e.Active:
				op, reason = provision.OpKeep, provision.ReasonStopped
			default:
				op = provision.OpKeep
			}
		}
		d.Ops[sp.Domain] = op
		plan.Actions = append(plan.Actions, provision.Action{Op: op, Reason: reason,
			Resource: provision.Resource{Type: "domain", Name: sp.Domain, Candidate: sp.Candidate, Machine: sp.Machine.Name, Host: host}})
		if op != provision.OpKeep {
			mem := sp.Machine.Memory.MiB()
			if mem == 0 {
				mem = 64
			}
			plan.Needs.MemoryMiB += mem
			if sp.Type == "qemu" {
				// A container shares the host's CPUs and reserves none: only
				// VMs' vCPUs count against the host.
				plan.Needs.CPUs += max(sp.Machine.CPUs, 1)
			}
			for _, v := range sp.Volumes {
				plan.Needs.DiskMiB += v.Size.MiB() + 1
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(existing)) {
		e := existing[name]
		if !wanted[name] && candidates[e.Tag.Candidate] {
			d.Remove = append(d.Remove, e)
			plan.Actions = append(plan.Actions, provision.Action{Op: provision.OpRemove, Reason: "no longer in the lab",
				Resource: provision.Resource{Type: "domain", Name: name, Candidate: e.Tag.Candidate, Machine: e.Tag.Machine, Host: host}})
		}
	}
	for _, name := range slices.Sorted(maps.Keys(existingNets)) {
		_, cand, _, _ := naming.ParseName(name)
		if !wanted[name] && candidates[cand] {
			d.RemoveNets = append(d.RemoveNets, name)
			plan.Actions = append(plan.Actions, provision.Action{Op: provision.OpRemove, Reason: "no longer in the lab",
				Resource: provision.Resource{Type: "network", Name: name, Candidate: cand, Host: host}})
		}
	}
	sort.SliceStable(plan.Actions, func(i, j int) bool { return plan.Actions[i].Resource.Candidate < plan.Actions[j].Resource.Candidate })
	offers, err := p.offers(d.Types[0])
	if err != nil {
		return nil, err
	}
	plan.Offers = offers
	return plan, ctxErr(ctx)
}

// offers reads what the host can give: CPUs, free memory, free pool space.
func (p *Provider) offers(typ string) (provision.Capacity, error) {
	c, err := p.conn(typ)
	if err != nil {
		return provision.Capacity{}, err
	}
	var out provision.Capacity
	if info, err := c.GetNodeInfo(); err == nil {
		out.CPUs = int(info.Cpus)
	}
	if free, err := c.GetFreeMemory(); err == nil {
		out.MemoryMiB = int64(free / (1 << 20))
	}
	dir := p.cfg.PoolDir
	for dir != "/" && !fileExists(dir) {
		dir = filepath.Dir(dir)
	}
	if free, err := freeDisk(dir); err == nil {
		out.DiskMiB = free
	}
	return out, nil
}
