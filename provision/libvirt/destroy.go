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

	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/provision/naming"
)

// sessionTypes returns the domain types a session's lab uses (both when unknown).
func sessionTypes(s *provision.Session) []string {
	lab, err := s.LoadLab()
	if err != nil {
		return []string{"lxc", "qemu"}
	}
	var lxc, qemu bool
	for _, m := range lab.Machines {
		if m.Kind == labs.KindContainer {
			lxc = true
		} else {
			qemu = true
		}
	}
	var out []string
	if lxc {
		out = append(out, "lxc")
	}
	if qemu {
		out = append(out, "qemu")
	}
	if len(out) == 0 {
		out = []string{"lxc"}
	}
	return out
}

// Destroy removes the session's domains, overlays, private dirs and networks
// (only the listed candidates' when candidates is not empty; the management
// network goes with the whole session). Nothing left is not an error.
func (p *Provider) Destroy(ctx context.Context, s *provision.Session, candidates []string, obs provision.Observer) error {
	if p.multi() {
		return p.destroyHosts(ctx, s, candidates, obs)
	}
	want := map[string]bool{}
	for _, c := range candidates {
		want[c] = true
	}
	defer p.timed("destroy", s.Name)()
	if err := p.teardown(ctx, s, want, obs); err != nil {
		return err
	}
	dir := filepath.Join(p.cfg.DataDir, "machines", s.Name)
	if len(want) > 0 {
		for c := range want {
			if err := os.RemoveAll(filepath.Join(dir, c)); err != nil {
				return err
			}
		}
		return nil
	}
	return os.RemoveAll(dir)
}

// Status reports the live state of every machine of the instances: the domain's
// state, and for running ones a quick readiness probe.
func (p *Provider) Status(ctx context.Context, s *provision.Session, ins []*labs.Instance) ([]provision.MachineState, error) {
	if p.multi() {
		return p.statusHosts(ctx, s, ins)
	}
	_, specs, err := p.specs(s, ins)
	if err != nil {
		return nil, err
	}
	doms, err := p.listDomains(types(specs), s.Name)
	if err != nil {
		return nil, err
	}
	out := make([]provision.MachineState, len(specs))
	var wg sync.WaitGroup
	for i, sp := range specs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, ok := doms[sp.Domain]
			switch {
			case !ok:
				out[i] = p.state(sp, provision.StateMissing, nil)
			case !e.Active:
				out[i] = p.state(sp, provision.StateStopped, nil)
			default:
				st := provision.StateRunning
				port, banner := readinessOf(sp)
				if port > 0 {
					cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
					if probeReady(cctx, fmt.Sprintf("%s:%d", sp.Mgmt, port), banner) == nil {
						st = provision.StateReady
					} else {
						st = provision.StateNotReady
					}
					cancel()
				}
				out[i] = p.state(sp, st, nil)
				if e.Tag.Spec != sp.Hash {
					out[i].Error = "drift: the lab changed since this machine was created (run `tailab up` to reconcile)"
				}
			}
		}()
	}
	wg.Wait()
	return out, nil
}

// Orphans lists tailab domains, networks, overlays and machine dirs whose
// session is not in keep.
func (p *Provider) Orphans(ctx context.Context, keep map[string]bool) ([]provision.Resource, error) {
	if p.multi() {
		return p.orphansHosts(ctx, keep)
	}
	var out []provision.Resource
	for _, typ := range p.availableTypes() {
		doms, err := p.listDomains([]string{typ}, "")
		if err != nil {
			return nil, err
		}
		for _, name := range slices.Sorted(maps.Keys(doms)) {
			e := doms[name]
			s, c, m, _ := naming.ParseName(name)
			if e.Tag.Session != "" {
				s = e.Tag.Session
			}
			if !keep[s] {
				out = append(out, provision.Resource{Type: "domain/" + typ, Name: name, Candidate: c, Machine: m})
			}
		}
	}
	typs := p.availableTypes()
	if len(typs) > 0 {
		nets, err := p.listNetworks(typs[0], "")
		if err != nil {
			return nil, err
		}
		for _, name := range slices.Sorted(maps.Keys(nets)) {
			if s, c, _, _ := naming.ParseName(name); !keep[s] {
				out = append(out, provision.Resource{Type: "network", Name: name, Candidate: c})
			}
		}
	}
	entries, _ := os.ReadDir(filepath.Join(p.cfg.DataDir, "machines"))
	for _, e := range entries {
		if !keep[e.Name()] {
			out = append(out, provision.Resource{Type: "dir", Name: filepath.Join(p.cfg.DataDir, "machines", e.Name())})
		}
	}
	for _, d := range p.mountedDomains() {
		if s, c, _, ok := naming.ParseName(d); ok && !keep[s] {
			out = append(out, provision.Resource{Type: "mount", Name: d, Candidate: c})
		}
	}
	vols, _ := os.ReadDir(p.cfg.PoolDir)
	for _, v := range vols {
		if s, c, _, ok := naming.ParseName(v.Name()); ok && !keep[s] {
			out = append(out, provision.Resource{Type: "volume", Name: v.Name(), Candidate: c})
		}
	}
	return out, ctxErr(ctx)
}

// availableTypes lists the connections that answer (gc must not fail because a
// host has no LXC driver), each URI once.
func (p *Provider) availableTypes() []string {
	var out []string
	seen := map[string]bool{}
	for _, typ := range []string{"lxc", "qemu"} {
		uri := p.cfg.QEMU
		if typ == "lxc" {
			uri = p.cfg.LXC
		}
		if seen[uri] {
			continue
		}
		if _, err := p.conn(typ); err == nil {
			seen[uri] = true
			out = append(out, typ)
		}
	}
	return out
}

// RemoveOrphans removes what Orphans listed.
func (p *Provider) RemoveOrphans(ctx context.Context, rs []provision.Resource) error {
	if p.multi() {
		return p.removeOrphansHosts(ctx, rs)
	}
	var errs []error
	for _, r := range rs {
		if err := ctxErr(ctx); err != nil {
			return err
		}
		var err error
		switch r.Type {
		case "domain/lxc":
			err = p.destroyDomain("lxc", r.Name)
		case "domain/qemu":
			err = p.destroyDomain("qemu", r.Name)
		case "network":
			typs := p.availableTypes()
			if len(typs) == 0 {
				err = errors.New("no libvirt connection")
				break
			}
			c, cerr := p.conn(typs[0])
			if cerr != nil {
				err = cerr
				break
			}
			if err = p.destroyNetwork(c, r.Name); err == nil && strings.HasSuffix(r.Name, ".mgmt") {
				p.removeMgmtBridge(r.Name)
			}
		case "dir":
			err = os.RemoveAll(r.Name)
		case "mount":
			err = p.removeMounts(r.Name)
		case "volume":
			err = os.Remove(filepath.Join(p.cfg.PoolDir, r.Name))
			if errors.Is(err, os.ErrNotExist) {
				err = nil
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %s: %w", r.Type, r.Name, err))
		}
	}
	return errors.Join(errs...)
}
