package libvirt

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"

	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/provision/naming"
)

// Several hosts: each candidate's lab lives on one host. A candidate that has
// domains on a host stays there; a new one goes to the host with the most free
// memory once what this plan already put there is counted (ties: most CPUs,
// then the order of the hosts). Each host then gets an ordinary single-host
// plan of its candidates (with its own management network), and Apply admits
// and carries out each one.

// multiPlan is the Private part of a plan over several hosts.
type multiPlan struct {
	Hosts []hostPlan
}

// hostPlan is one host's share of a plan.
type hostPlan struct {
	Host Host
	Plan *provision.Plan
}

// hostLoad is what placement knows of a host.
type hostLoad struct {
	Name      string
	FreeMiB   int64 // free memory as measured
	CPUs      int
	PlacedMiB int64 // memory of the new machines this plan put there
}

// candidateNeed is what a candidate's lab takes on a host.
type candidateNeed struct {
	Candidate string
	MemoryMiB int64
}

// place returns the host of every candidate: the one in placed when it has
// one, else the host with the most memory left after what place already put
// there (ties: most CPUs, then the first listed). It updates loads.
func place(loads []hostLoad, needs []candidateNeed, placed map[string]string) map[string]string {
	out := map[string]string{}
	for _, n := range needs {
		if h, ok := placed[n.Candidate]; ok {
			out[n.Candidate] = h
			continue
		}
		best := -1
		for i := range loads {
			if best < 0 {
				best = i
				continue
			}
			li, lb := loads[i].FreeMiB-loads[i].PlacedMiB, loads[best].FreeMiB-loads[best].PlacedMiB
			if li > lb || (li == lb && loads[i].CPUs > loads[best].CPUs) {
				best = i
			}
		}
		loads[best].PlacedMiB += n.MemoryMiB
		out[n.Candidate] = loads[best].Name
	}
	return out
}

// machineMiB is the memory a machine takes for placement and admission.
func machineMiB(sp *machineSpec) int64 {
	if mem := sp.Machine.Memory.MiB(); mem > 0 {
		return mem
	}
	return 64
}

// placement lists, for every host, which of the session's candidates have
// domains there (the first host found wins for a candidate found on two).
func (p *Provider) placement(typs []string, session string) (map[string]string, error) {
	placed := map[string]string{}
	for _, h := range p.hosts() {
		doms, err := p.on(h).listDomains(typs, session)
		if err != nil {
			return nil, fmt.Errorf("host %s: %w", h.Name, err)
		}
		for _, name := range slices.Sorted(maps.Keys(doms)) {
			c := doms[name].Tag.Candidate
			if c == "" {
				_, c, _, _ = naming.ParseName(name)
			}
			if _, ok := placed[c]; !ok {
				placed[c] = h.Name
			}
		}
	}
	return placed, nil
}

// planHosts places the candidates and plans each host.
func (p *Provider) planHosts(ctx context.Context, s *provision.Session, ins []*labs.Instance) (*provision.Plan, error) {
	_, specs, err := p.specs(s, ins)
	if err != nil {
		return nil, err
	}
	typs := types(specs)
	if len(typs) == 0 {
		typs = []string{"lxc"}
	}
	placed, err := p.placement(typs, s.Name)
	if err != nil {
		return nil, err
	}
	var loads []hostLoad
	for _, h := range p.hosts() {
		v := p.on(h)
		o, err := v.offers(typs[0])
		if err != nil {
			return nil, fmt.Errorf("host %s: %w", h.Name, err)
		}
		if o.MemoryMiB == 0 {
			o.MemoryMiB = v.totalMiB(typs[0])
		}
		loads = append(loads, hostLoad{Name: h.Name, FreeMiB: o.MemoryMiB, CPUs: o.CPUs})
	}
	mem := map[string]int64{}
	for _, sp := range specs {
		mem[sp.Candidate] += machineMiB(sp)
	}
	var needs []candidateNeed
	for _, in := range ins {
		needs = append(needs, candidateNeed{Candidate: in.Candidate.ID, MemoryMiB: mem[in.Candidate.ID]})
	}
	where := place(loads, needs, placed)
	byHost := map[string][]*labs.Instance{}
	for _, in := range ins {
		byHost[where[in.Candidate.ID]] = append(byHost[where[in.Candidate.ID]], in)
	}
	plan := &provision.Plan{Session: s, Instances: ins}
	mp := &multiPlan{}
	for _, h := range p.hosts() {
		sub := byHost[h.Name]
		if len(sub) == 0 {
			continue
		}
		hp, err := p.on(h).Plan(ctx, s, sub)
		if err != nil {
			return nil, fmt.Errorf("host %s: %w", h.Name, err)
		}
		mp.Hosts = append(mp.Hosts, hostPlan{Host: h, Plan: hp})
		plan.Actions = append(plan.Actions, hp.Actions...)
		plan.Needs.CPUs += hp.Needs.CPUs
		plan.Needs.MemoryMiB += hp.Needs.MemoryMiB
		plan.Needs.DiskMiB += hp.Needs.DiskMiB
		plan.Offers.CPUs += hp.Offers.CPUs
		plan.Offers.MemoryMiB += hp.Offers.MemoryMiB
		plan.Offers.DiskMiB = max(plan.Offers.DiskMiB, hp.Offers.DiskMiB) // one local pool dir
	}
	sort.SliceStable(plan.Actions, func(i, j int) bool { return plan.Actions[i].Resource.Candidate < plan.Actions[j].Resource.Candidate })
	plan.Private = mp
	return plan, ctxErr(ctx)
}

// applyHosts admits every host's share (unless forced), then applies them all
// at once, each on its own host.
func (p *Provider) applyHosts(ctx context.Context, mp *multiPlan, opts provision.ApplyOptions, obs provision.Observer) error {
	if !opts.Force {
		var errs []error
		for _, hp := range mp.Hosts {
			if err := provision.Admit(hp.Plan); err != nil {
				errs = append(errs, fmt.Errorf("host %s: %w", hp.Host.Name, err))
			}
		}
		if err := errors.Join(errs...); err != nil {
			return err
		}
	}
	opts.Force = true // admitted above
	var wg sync.WaitGroup
	errs := make([]error, len(mp.Hosts))
	for i, hp := range mp.Hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.on(hp.Host).Apply(ctx, hp.Plan, opts, obs); err != nil {
				errs[i] = fmt.Errorf("host %s: %w", hp.Host.Name, err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// destroyHosts destroys the session (or the listed candidates) on every host,
// one host after the other; a host that fails does not stop the others.
func (p *Provider) destroyHosts(ctx context.Context, s *provision.Session, candidates []string, obs provision.Observer) error {
	var errs []error
	for _, h := range p.hosts() {
		if err := p.on(h).Destroy(ctx, s, candidates, obs); err != nil {
			errs = append(errs, fmt.Errorf("host %s: %w", h.Name, err))
		}
	}
	return errors.Join(errs...)
}

// statusHosts reports every machine from the host its candidate is on (the
// first host for a candidate found nowhere: its machines are missing).
func (p *Provider) statusHosts(ctx context.Context, s *provision.Session, ins []*labs.Instance) ([]provision.MachineState, error) {
	_, specs, err := p.specs(s, ins)
	if err != nil {
		return nil, err
	}
	typs := types(specs)
	if len(typs) == 0 {
		return nil, nil
	}
	placed, err := p.placement(typs, s.Name)
	if err != nil {
		return nil, err
	}
	hosts := p.hosts()
	byHost := map[string][]*labs.Instance{}
	for _, in := range ins {
		h, ok := placed[in.Candidate.ID]
		if !ok {
			h = hosts[0].Name
		}
		byHost[h] = append(byHost[h], in)
	}
	got := map[string]provision.MachineState{}
	for _, h := range hosts {
		if len(byHost[h.Name]) == 0 {
			continue
		}
		states, err := p.on(h).Status(ctx, s, byHost[h.Name])
		if err != nil {
			return nil, fmt.Errorf("host %s: %w", h.Name, err)
		}
		for _, st := range states {
			got[st.Key()] = st
		}
	}
	out := make([]provision.MachineState, 0, len(specs))
	for _, sp := range specs {
		out = append(out, got[sp.Candidate+"/"+sp.Machine.Name])
	}
	return out, nil
}

// orphansHosts lists every host's orphans, each with its host (local dirs and
// overlays once).
func (p *Provider) orphansHosts(ctx context.Context, keep map[string]bool) ([]provision.Resource, error) {
	var out []provision.Resource
	for i, h := range p.hosts() {
		rs, err := p.on(h).Orphans(ctx, keep)
		if err != nil {
			return nil, fmt.Errorf("host %s: %w", h.Name, err)
		}
		for _, r := range rs {
			if i > 0 && (r.Type == "dir" || r.Type == "volume") {
				continue
			}
			r.Host = h.Name
			out = append(out, r)
		}
	}
	return out, nil
}

// removeOrphansHosts removes each resource on its host (no host: the first).
func (p *Provider) removeOrphansHosts(ctx context.Context, rs []provision.Resource) error {
	var errs []error
	for _, h := range p.hosts() {
		var mine []provision.Resource
		for _, r := range rs {
			if p.host(r.Host).Name == h.Name {
				mine = append(mine, r)
			}
		}
		if len(mine) == 0 {
			continue
		}
		if err := p.on(h).RemoveOrphans(ctx, mine); err != nil {
			errs = append(errs, fmt.Errorf("host %s: %w", h.Name, err))
		}
	}
	return errors.Join(errs...)
}

// totalMiB is a host's memory, for ranking a host whose driver reports no free
// memory (libvirt's test driver, on a node file).
func (p *Provider) totalMiB(typ string) int64 {
	c, err := p.conn(typ)
	if err != nil {
		return 0
	}
	info, err := c.GetNodeInfo()
	if err != nil {
		return 0
	}
	return int64(info.Memory / 1024)
}
