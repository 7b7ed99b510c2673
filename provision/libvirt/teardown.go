package libvirt

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	lv "libvirt.org/go/libvirt"

	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/provision/naming"
)

// A session's teardown (`tailab down`) takes its machines apart at once rather
// than one after the other (docs/benchmarks.md has the breakdown that led
// here):
//
//  1. every domain is stopped and undefined, teardownParallel at once, spread
//     over the worker connections, through the objects the listing returned
//     (no lookup per domain);
//  2. then the networks, 8 at once over the worker connections (a network
//     destroyed while domains still stop measured slower: libvirt's network
//     driver serves the domains' ports and the network one after the other);
//  3. with them, what tailab keeps beside the domains, in one batch each:
//     one nft transaction for their management ports, one run of the mount
//     helper, then their dirs and one update of the uid table.
//
// A teardown killed half-way is finished by the next: step 3 covers every
// machine of the session that still has a dir or mounts, not only the domains
// this run found.

// teardownParallel is how many domains are stopped at once: 8 as before (12,
// with the networks destroyed during the stops, measured slower in the same
// rounds on 2 loaded cores: the daemon's work, not the connections, bounds it).
const teardownParallel = 8

// sessionDomain is a domain of the session being taken down.
type sessionDomain struct {
	name, typ, candidate, machine string
	dom                           *lv.Domain // from the listing, freed by teardown
}

// listSessionDomains lists the session's domains (of the wanted candidates) on
// every worker connection of each type, each domain kept on one of them, in
// turn: the calls that stop them then spread over the connections.
func (p *Provider) listSessionDomains(typs []string, session string, want map[string]bool) ([]sessionDomain, error) {
	var out []sessionDomain
	for _, typ := range typs {
		seen := map[string]bool{}
		conns, err := p.workerConns(typ)
		if err != nil {
			return nil, err
		}
		for i, c := range conns {
			doms, err := c.ListAllDomains(0)
			if err != nil {
				return nil, fmt.Errorf("list domains: %w", err)
			}
			for j := range doms {
				name, err := doms[j].GetName()
				s, cand, machine, ok := naming.ParseName(name)
				if err != nil || !ok || s != session || (len(want) > 0 && !want[cand]) || seen[name] ||
					int(hashIndex(name))%len(conns) != i {
					doms[j].Free()
					continue
				}
				seen[name] = true
				out = append(out, sessionDomain{name: name, typ: typ, candidate: cand, machine: machine, dom: &doms[j]})
			}
		}
	}
	slices.SortFunc(out, func(a, b sessionDomain) int { return strings.Compare(a.name, b.name) })
	return out, nil
}

// workerConns are the distinct worker connections of a type (the listings
// spread the objects they return over them).
func (p *Provider) workerConns(typ string) ([]*lv.Connect, error) {
	var conns []*lv.Connect
	for range WorkerConns {
		c, err := p.workConn(typ)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(conns, c) {
			conns = append(conns, c)
		}
	}
	return conns, nil
}

// listSessionNetworks lists the session's networks, each kept on one of the
// worker connections in turn (as listSessionDomains): stopped through these
// objects, no lookup each.
func (p *Provider) listSessionNetworks(typ, session string) (map[string]*lv.Network, error) {
	out := map[string]*lv.Network{}
	conns, err := p.workerConns(typ)
	if err != nil {
		return nil, err
	}
	for i, c := range conns {
		nets, err := c.ListAllNetworks(0)
		if err != nil {
			for _, n := range out {
				n.Free()
			}
			return nil, fmt.Errorf("list networks: %w", err)
		}
		for j := range nets {
			name, err := nets[j].GetName()
			s, _, _, ok := naming.ParseName(name)
			if err != nil || !ok || s != session || out[name] != nil || int(hashIndex(name))%len(conns) != i {
				nets[j].Free()
				continue
			}
			out[name] = &nets[j]
		}
	}
	return out, nil
}

// hashIndex spreads names over connections.
func hashIndex(s string) uint32 {
	var h uint32 = 2166136261
	for i := 0; i < len(s); i++ {
		h = (h ^ uint32(s[i])) * 16777619
	}
	return h
}

// teardown removes the session's domains (of the wanted candidates), their
// host state and networks, as described above.
func (p *Provider) teardown(ctx context.Context, s *provision.Session, want map[string]bool, obs provision.Observer) error {
	typs := sessionTypes(s)
	start := time.Now()
	end := p.timed("dom.list", s.Name)
	doms, err := p.listSessionDomains(typs, s.Name, want)
	end()
	if err != nil {
		return err
	}
	defer func() {
		for _, d := range doms {
			d.dom.Free()
		}
	}()
	nets, err := p.listSessionNetworks(typs[0], s.Name)
	if err != nil {
		return err
	}
	defer func() {
		for _, n := range nets {
			n.Free()
		}
	}()
	var mu sync.Mutex
	var errs []error
	note := func(err error) {
		if err != nil {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}
	}
	var lxcGone []string
	failed := map[string]bool{}
	_ = forEach(context.WithoutCancel(ctx), doms, teardownParallel, func(d sessionDomain) error {
		err := p.stopAndUndefine(d)
		mu.Lock()
		if err == nil && d.typ == "lxc" {
			lxcGone = append(lxcGone, d.name)
		}
		if err != nil {
			failed[d.candidate] = true
		}
		mu.Unlock()
		note(err)
		return nil
	})

	// The networks of the candidates whose domains all stopped (the
	// management network with the whole session), 8 at once over the worker
	// connections, while the host state of every machine of the session
	// (see above) goes in its batches.
	mgmt := naming.MgmtNetworkName(s.Name)
	var gone []string
	for _, name := range slices.Sorted(maps.Keys(nets)) {
		_, cand, _, _ := naming.ParseName(name)
		switch {
		case name == mgmt && (len(want) > 0 || len(failed) > 0):
		case name != mgmt && (cand == "" || (len(want) > 0 && !want[cand]) || failed[cand]):
		default:
			gone = append(gone, name)
		}
	}
	netsDone := make(chan struct{})
	go func() {
		defer close(netsDone)
		note(forEach(context.WithoutCancel(ctx), gone, 8, func(name string) error {
			if err := p.stopNetwork(nets[name], name); err != nil {
				return err
			}
			if name == mgmt {
				p.removeMgmtBridge(name)
			}
			_, cand, _, _ := naming.ParseName(name)
			obs.Event(provision.Event{Time: time.Now(), Candidate: cand, Resource: name, What: "destroyed"})
			return nil
		}))
	}()
	note(p.sessionHostState(s, want, doms, lxcGone, failed))
	for _, d := range doms {
		if !failed[d.candidate] {
			obs.Event(provision.Event{Time: time.Now(), Candidate: d.candidate, Machine: d.machine, Resource: d.name, What: "destroyed", Elapsed: time.Since(start)})
		}
	}
	<-netsDone
	return errors.Join(errs...)
}

// stopAndUndefine stops and undefines one listed domain; absent is fine.
func (p *Provider) stopAndUndefine(d sessionDomain) error {
	end := p.timed("dom.destroy", d.name)
	err := d.dom.Destroy()
	end()
	if err != nil && !isNotRunning(err) && !isNotFound(err) {
		return fmt.Errorf("domain %s: stop: %w", d.name, err)
	}
	var flags lv.DomainUndefineFlagsValues // the LXC driver takes no flags
	if d.typ == "qemu" {
		flags = lv.DOMAIN_UNDEFINE_MANAGED_SAVE | lv.DOMAIN_UNDEFINE_SNAPSHOTS_METADATA | lv.DOMAIN_UNDEFINE_NVRAM
	}
	end = p.timed("dom.undefine", d.name)
	err = d.dom.UndefineFlags(flags)
	end()
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("domain %s: undefine: %w", d.name, err)
	}
	return nil
}

// sessionHostState removes, once the domains are stopped, what tailab keeps
// beside them for every machine of the session (of the wanted candidates)
// but those of candidates whose domains failed to stop: management port
// elements and mounts of the containers, VM volumes, machine dirs and their
// uid ranges. Its machines are the listed domains, the dirs left on disk and
// the mounts left in libvirtd's namespace (a teardown killed half-way left
// them without a domain).
func (p *Provider) sessionHostState(s *provision.Session, want map[string]bool, doms []sessionDomain, lxcGone []string, failed map[string]bool) error {
	keep := func(cand string) bool { return (len(want) == 0 || want[cand]) && !failed[cand] }
	containers := map[string]bool{}
	for _, name := range lxcGone {
		containers[name] = true
	}
	machines := map[string]bool{} // domain names
	root := filepath.Join(p.cfg.DataDir, "machines", s.Name)
	cands, _ := os.ReadDir(root)
	for _, c := range cands {
		if !c.IsDir() || !keep(c.Name()) {
			continue
		}
		ms, _ := os.ReadDir(filepath.Join(root, c.Name()))
		for _, m := range ms {
			if m.IsDir() {
				machines[naming.DomainName(s.Name, c.Name(), m.Name())] = true
			}
		}
	}
	if p.contained() {
		for _, d := range p.mountedDomains() {
			if ss, c, _, ok := naming.ParseName(d); ok && ss == s.Name && keep(c) {
				containers[d] = true
			}
		}
	}
	for _, d := range doms {
		if keep(d.candidate) {
			machines[d.name] = true
			if d.typ == "qemu" {
				_, c, m, _ := naming.ParseName(d.name)
				if err := p.deleteVolumes(s.Name, c, m); err != nil {
					return err
				}
			}
		}
	}
	// Containers: a dir without a domain is a container's (a VM keeps its
	// console log there too, and its ports and mounts are none: harmless).
	for name := range machines {
		containers[name] = true
	}
	names := slices.Sorted(maps.Keys(containers))
	end := p.timed("nft.forget", s.Name)
	p.forgetMgmtPort(names...)
	end()
	end = p.timed("mounts.teardown", s.Name)
	err := p.removeMounts(names...)
	end()
	if err != nil {
		return fmt.Errorf("mounts: %w", err)
	}
	end = p.timed("dir.remove", s.Name)
	var dirs []string
	for _, name := range slices.Sorted(maps.Keys(machines)) {
		ss, c, m, _ := naming.ParseName(name)
		dir := machineDir(p.cfg.DataDir, ss, c, m)
		if err := os.RemoveAll(dir); err != nil {
			end()
			return fmt.Errorf("remove %s: %w", dir, err)
		}
		dirs = append(dirs, dir)
	}
	end()
	if len(dirs) > 0 && fileExists(p.cfg.UIDTable) {
		defer p.timed("uid.free", s.Name)()
		return p.freeUIDBase(dirs...)
	}
	return nil
}
