package libvirt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	lv "libvirt.org/go/libvirt"

	"github.com/tailab/tailab/internal/secret"
	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/provision/naming"
)

// Apply carries out a plan: networks first, then every machine in parallel
// (bounded), each awaited until ready. A machine that fails is recorded as
// `error` and the others go on; the returned error lists the failures.
func (p *Provider) Apply(ctx context.Context, plan *provision.Plan, opts provision.ApplyOptions, obs provision.Observer) error {
	if mp, ok := plan.Private.(*multiPlan); ok {
		return p.applyHosts(ctx, mp, opts, obs)
	}
	d, ok := plan.Private.(*planDetail)
	if !ok {
		return errors.New("libvirt: plan was not made by this provider")
	}
	if !opts.Force {
		if err := provision.Admit(plan); err != nil {
			return err
		}
	}
	endApply := p.timed("apply", plan.Session.Name)
	netConn, err := p.conn(d.Types[0])
	if err != nil {
		return err
	}
	for _, e := range d.Remove {
		if err := p.destroyDomain(e.Type, e.Name); err != nil {
			return err
		}
		obs.Event(provision.Event{Time: time.Now(), Candidate: e.Tag.Candidate, Machine: e.Tag.Machine, Resource: e.Name, What: "removed"})
	}
	for _, n := range d.RemoveNets {
		if err := p.destroyNetwork(netConn, n); err != nil {
			return err
		}
	}
	parallel := opts.Parallel
	if parallel <= 0 {
		parallel = 8
	}
	if hasVMs(d.Specs) {
		if err := p.ensurePool(); err != nil {
			return err
		}
	}
	ensure := func(n netSpec) error {
		created, err := p.ensureNetwork(netConn, n.Name, n.XML, d.Ops[n.Name] == provision.OpCreate)
		if err != nil {
			return fmt.Errorf("network %s: %w", n.Name, err)
		}
		if created {
			obs.Event(provision.Event{Time: time.Now(), Candidate: n.Candidate, Resource: n.Name, What: "created"})
		}
		if n.Name == naming.MgmtNetworkName(plan.Session.Name) {
			defer p.timed("net.nft", n.Name)()
			return p.addMgmtBridge(plan.Session.Name)
		}
		return nil
	}
	// The created containers' files and mounts, made while the networks are
	// (ahead.go).
	mountWaits := p.mountAhead(d.Specs, d.Ops, opts)
	// The session's management network and its nft elements (every contained
	// machine's port in one transaction rather than one nft run per start)
	// first; then each candidate's networks, parallel at most at once, and
	// each candidate's machines as soon as its own networks exist. (The
	// management network at once with the others measured slower: libvirt's
	// network driver does them one after the other, and the candidates'
	// machines wait for it anyway.)
	// A replaced machine is left out: its destroy would forget the element
	// again, so its start adds it (as mountAhead leaves it out too).
	var contained []*machineSpec
	for _, sp := range d.Specs {
		if sp.Contained && d.Ops[sp.Domain] != provision.OpReplace {
			contained = append(contained, sp)
		}
	}
	byCandidate := map[string][]netSpec{}
	var mgmtNets []netSpec
	for _, n := range d.Networks {
		if n.Candidate == "" {
			mgmtNets = append(mgmtNets, n)
			continue
		}
		byCandidate[n.Candidate] = append(byCandidate[n.Candidate], n)
	}
	for _, n := range mgmtNets {
		if err := ensure(n); err != nil {
			return err
		}
	}
	endNft := p.timed("nft.allow", plan.Session.Name)
	err = p.allowMgmtPort(contained...)
	endNft()
	if err != nil {
		return err
	}
	netSem := make(chan struct{}, parallel)
	type netWait struct {
		done chan struct{}
		err  error
	}
	netsReady := map[string]*netWait{}
	for _, sp := range d.Specs {
		if _, ok := netsReady[sp.Candidate]; ok {
			continue
		}
		w := &netWait{done: make(chan struct{})}
		netsReady[sp.Candidate] = w
		go func(nets []netSpec) {
			defer close(w.done)
			defer p.timed("nets.candidate", sp.Candidate)()
			for _, n := range nets {
				select {
				case netSem <- struct{}{}:
				case <-ctx.Done():
					w.err = ctx.Err()
					return
				}
				err := ensure(n)
				<-netSem
				if err != nil {
					w.err = err
					return
				}
			}
		}(byCandidate[sp.Candidate])
	}
	waitNets := func(candidate string) error {
		w := netsReady[candidate]
		<-w.done
		return w.err
	}
	// Machines: parallel at most being created at once; a machine gives its
	// slot back once started, so readiness waits do not hold back the others.
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []error
	fail := func(sp *machineSpec, err error) {
		mu.Lock()
		failures = append(failures, fmt.Errorf("candidate %s machine %s: %w", sp.Candidate, sp.Machine.Name, err))
		mu.Unlock()
	}
	for _, sp := range d.Specs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			endWait := p.timed("wait.nets", sp.Domain)
			if err := waitNets(sp.Candidate); err != nil {
				fail(sp, err)
				return
			}
			endWait()
			if w := mountWaits[sp.Domain]; w != nil {
				endWait = p.timed("wait.mounts", sp.Domain)
				<-w.done
				endWait()
			}
			endWait = p.timed("wait.slot", sp.Domain)
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			endWait()
			var once sync.Once
			release := func() { once.Do(func() { <-sem }) }
			defer release()
			if err := p.applyMachine(ctx, sp, d.Ops[sp.Domain], opts, obs, release); err != nil {
				fail(sp, err)
			}
		}()
	}
	wg.Wait()
	endApply()
	if err := ctxErr(ctx); err != nil {
		return err
	}
	return errors.Join(failures...)
}

func hasVMs(specs []*machineSpec) bool {
	for _, s := range specs {
		if s.Type == "qemu" {
			return true
		}
	}
	return false
}

func (p *Provider) state(sp *machineSpec, st string, err error) provision.MachineState {
	ms := provision.MachineState{
		Session: sp.Session, Candidate: sp.Candidate, Machine: sp.Machine.Name, Role: sp.Machine.Role,
		Kind: sp.Machine.Kind, OS: sp.Machine.OS, Domain: sp.Domain, MgmtAddress: sp.Mgmt.String(),
		Addresses: map[string]string{}, State: st, SSHHostKey: sp.HostKeySHA256,
	}
	ms.Host = p.hostLabel(sp.Type)
	ms.UIDBase = sp.UIDBase
	for _, n := range sp.NICs {
		if n.Lab != "" {
			addr := n.Address
			if n.DHCP {
				addr = "dhcp"
			}
			ms.Addresses[n.Lab] = addr
		}
	}
	if err != nil {
		ms.Error = err.Error()
	}
	return ms
}

// applyMachine creates (or keeps, or replaces) and starts one machine, then
// waits until it is ready; it calls started once the domain runs.
func (p *Provider) applyMachine(ctx context.Context, sp *machineSpec, op provision.Op, opts provision.ApplyOptions, obs provision.Observer, started func()) error {
	start := time.Now()
	fail := func(err error) error {
		obs.Machine(p.state(sp, provision.StateError, err))
		obs.Event(provision.Event{Time: time.Now(), Candidate: sp.Candidate, Machine: sp.Machine.Name, Resource: sp.Domain, What: "failed", Err: err})
		return err
	}
	if op == provision.OpReplace {
		if err := p.destroyDomain(sp.Type, sp.Domain); err != nil {
			return fail(err)
		}
	}
	if sp.Contained {
		end := p.timed("uid.alloc", sp.Domain)
		_, err := p.uidBase(sp)
		end()
		if err != nil {
			return fail(err)
		}
	}
	c, err := p.workConn(sp.Type)
	if err != nil {
		return fail(err)
	}
	what := "kept"
	if ahead, err := sp.waitMounts(); ahead && err != nil {
		sp.mountsAhead = nil
		return fail(err)
	}
	if op == provision.OpCreate || op == provision.OpReplace {
		if !sp.preparedAhead {
			if err := p.prepare(sp, opts); err != nil {
				return fail(err)
			}
		}
		sp.preparedAhead = false
		what = "created"
	}
	dom, fresh, err := p.defineDomain(c, sp, op)
	if err != nil {
		return fail(err)
	}
	defer dom.Free()
	running := false
	if !fresh {
		running, _ = dom.IsActive()
	}
	var pushed <-chan struct{}
	if !opts.NoWait {
		var unwatch func()
		pushed, unwatch = p.pushedReady(sp) // before the start: its first words
		defer unwatch()
	}
	if !running {
		if err := p.startDomain(dom, sp); err != nil {
			return fail(err)
		}
		if what == "kept" {
			what = "started"
		}
	}
	started()
	obs.Machine(p.state(sp, provision.StateRunning, nil))
	obs.Event(provision.Event{Time: time.Now(), Candidate: sp.Candidate, Machine: sp.Machine.Name, Resource: sp.Domain, What: what, Elapsed: time.Since(start)})
	if opts.NoWait {
		return nil
	}
	endReady := p.timed("ready", sp.Domain)
	if running {
		pushed = nil // it spoke before: poll
	}
	pin, err := waitReady(ctx, sp, pushed)
	endReady()
	if err != nil {
		obs.Machine(p.state(sp, provision.StateNotReady, err))
		obs.Event(provision.Event{Time: time.Now(), Candidate: sp.Candidate, Machine: sp.Machine.Name, What: "not ready", Err: err})
		return err
	}
	ms := p.state(sp, provision.StateReady, nil)
	ms.ReadyAt, ms.TLSPin = time.Now().UTC(), pin
	obs.Machine(ms)
	obs.Event(provision.Event{Time: time.Now(), Candidate: sp.Candidate, Machine: sp.Machine.Name, What: "ready", Elapsed: time.Since(start)})
	return nil
}

// defineDomain returns the machine's domain, defining it when it does not
// exist; fresh reports a domain defined by this call (so not running). The plan
// says which domains it listed as absent: those are defined straight away,
// without a lookup first (one call fewer each, on a daemon that runs at most
// max_client_requests calls of a connection at once); should one exist all the
// same (made since the plan), the lookup follows the refused define.
func (p *Provider) defineDomain(c *lv.Connect, sp *machineSpec, op provision.Op) (dom *lv.Domain, fresh bool, err error) {
	if op != provision.OpCreate && op != provision.OpReplace {
		dom, err = c.LookupDomainByName(sp.Domain)
		if err == nil || !isNotFound(err) {
			return dom, false, err
		}
	}
	x, err := p.domainXML(sp)
	if err != nil {
		return nil, false, err
	}
	end := p.timed("dom.define", sp.Domain)
	dom, derr := c.DomainDefineXML(x)
	end()
	if derr == nil {
		return dom, true, nil
	}
	if dom, err = c.LookupDomainByName(sp.Domain); err == nil {
		return dom, false, nil
	}
	return nil, false, fmt.Errorf("define domain: %w", derr)
}

func (p *Provider) domainXML(sp *machineSpec) (string, error) {
	t := tag{Session: sp.Session, Candidate: sp.Candidate, Lab: sp.Lab, Machine: sp.Machine.Name, Spec: sp.Hash}
	if sp.Type == "lxc" {
		if sp.Contained {
			if _, err := p.uidBase(sp); err != nil {
				return "", err
			}
		}
		return containerXML(sp, t)
	}
	return vmXML(sp, t, p.cfg.VirtType, p.cfg.PoolDir)
}

// prepare writes what a machine needs before it is defined: a container's
// private dir, a VM's overlay volumes and seed image.
func (p *Provider) prepare(sp *machineSpec, opts provision.ApplyOptions) error {
	var secrets map[string]secret.Value
	if opts.Secrets != nil {
		var err error
		if secrets, err = opts.Secrets(sp.Candidate); err != nil {
			return fmt.Errorf("secrets: %w", err)
		}
	}
	if sp.Type == "lxc" {
		end := p.timed("files", sp.Domain)
		err := prepareContainer(sp, secrets)
		end()
		if err != nil || !sp.Contained {
			return err
		}
		base, err := p.uidBase(sp)
		if err != nil {
			return err
		}
		defer p.timed("files.chown", sp.Domain)()
		return chownPrivate(sp.Dir, base)
	}
	return p.prepareVM(sp, secrets)
}

// ensureNetwork defines and starts a network unless it exists; it reports
// whether it created it. absent says the plan found no such network: it is
// then defined without a lookup first (see defineDomain).
func (p *Provider) ensureNetwork(c *lv.Connect, name, xml string, absent bool) (bool, error) {
	var n *lv.Network
	var lerr error = lv.Error{Code: lv.ERR_NO_NETWORK}
	if !absent {
		end := p.timed("net.lookup", name)
		n, lerr = c.LookupNetworkByName(name)
		end()
	}
	created := false
	if isNotFound(lerr) {
		var derr error
		end := p.timed("net.define", name)
		n, derr = c.NetworkDefineXML(xml)
		end()
		if derr != nil {
			if n, lerr = c.LookupNetworkByName(name); lerr != nil {
				return false, fmt.Errorf("define: %w", derr)
			}
		} else {
			created = true
		}
	} else if lerr != nil {
		return false, lerr
	}
	defer n.Free()
	running := false
	if !created {
		running, _ = n.IsActive()
	}
	if !running {
		end := p.timed("net.start", name)
		err := n.Create()
		end()
		if err != nil {
			return created, fmt.Errorf("start: %w", err)
		}
	}
	return created, nil
}

func (p *Provider) destroyNetwork(c *lv.Connect, name string) error {
	end := p.timed("net.lookup", name)
	n, err := c.LookupNetworkByName(name)
	end()
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	defer n.Free()
	return p.stopNetwork(n, name)
}

// stopNetwork stops and undefines a network; gone meanwhile is fine.
func (p *Provider) stopNetwork(n *lv.Network, name string) error {
	end := p.timed("net.destroy", name)
	err := n.Destroy()
	end()
	if err != nil && !isNotRunning(err) && !isNotFound(err) {
		return fmt.Errorf("network %s: stop: %w", name, err)
	}
	defer p.timed("net.undefine", name)()
	if err := n.Undefine(); err != nil && !isNotFound(err) {
		return fmt.Errorf("network %s: undefine: %w", name, err)
	}
	return nil
}

// destroyDomain stops and undefines a domain and removes its files; absent is fine.
func (p *Provider) destroyDomain(typ, name string) error {
	c, err := p.conn(typ)
	if err != nil {
		return err
	}
	end := p.timed("dom.lookup", name)
	dom, err := c.LookupDomainByName(name)
	end()
	if err != nil && !isNotFound(err) {
		return err
	}
	if err == nil {
		defer dom.Free()
		end = p.timed("dom.destroy", name)
		err := dom.Destroy()
		end()
		if err != nil && !isNotRunning(err) && !isNotFound(err) {
			return fmt.Errorf("domain %s: stop: %w", name, err)
		}
		var flags lv.DomainUndefineFlagsValues // the LXC driver takes no flags
		if typ == "qemu" {
			flags = lv.DOMAIN_UNDEFINE_MANAGED_SAVE | lv.DOMAIN_UNDEFINE_SNAPSHOTS_METADATA | lv.DOMAIN_UNDEFINE_NVRAM
		}
		end = p.timed("dom.undefine", name)
		err = dom.UndefineFlags(flags)
		end()
		if err != nil && !isNotFound(err) {
			return fmt.Errorf("domain %s: undefine: %w", name, err)
		}
	}
	if typ == "lxc" {
		end = p.timed("nft.forget", name)
		p.forgetMgmtPort(name)
		end()
		end = p.timed("mounts.teardown", name)
		err := p.removeMounts(name)
		end()
		if err != nil {
			return fmt.Errorf("domain %s: %w", name, err)
		}
	}
	session, candidate, machine, ok := naming.ParseName(name)
	if !ok {
		return nil
	}
	if typ == "qemu" {
		if err := p.deleteVolumes(session, candidate, machine); err != nil {
			return err
		}
	}
	dir := machineDir(p.cfg.DataDir, session, candidate, machine)
	end = p.timed("dir.remove", name)
	err = os.RemoveAll(dir)
	end()
	if err != nil {
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	if typ == "lxc" && fileExists(p.cfg.UIDTable) {
		defer p.timed("uid.free", name)()
		return p.freeUIDBase(dir)
	}
	return nil
}

// startDomain starts a defined domain; a contained container gets its
// idmapped mounts and its management port's filter element first, and its
// host name once started.
func (p *Provider) startDomain(dom *lv.Domain, sp *machineSpec) error {
	if sp.Contained {
		ahead, err := sp.waitMounts()
		sp.mountsAhead = nil // the next start makes them itself
		if !ahead {
			end := p.timed("mounts.setup", sp.Domain)
			err = p.ensureMounts(sp)
			end()
		}
		if err != nil {
			return err
		}
		end := p.timed("nft.allow", sp.Domain)
		err = p.allowMgmtPort(sp) // nothing when Apply did it (PortAllowed)
		end()
		sp.PortAllowed = false // the next start adds it again
		if err != nil {
			return err
		}
	}
	end := p.timed("dom.start", sp.Domain)
	err := dom.Create()
	end()
	if err != nil {
		return fmt.Errorf("start domain: %w", err)
	}
	if sp.Contained {
		defer p.timed("hostname", sp.Domain)()
		return p.setHostname(dom, sp)
	}
	return nil
}

// forEach runs fn on every item, at most parallel at once, and joins the errors.
// It stops starting new items once ctx is done.
func forEach[T any](ctx context.Context, items []T, parallel int, fn func(T) error) error {
	sem := make(chan struct{}, max(parallel, 1))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for _, it := range items {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := fn(it); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
