// Package libvirt is the provider that runs labs on a libvirt host: QEMU/KVM
// virtual machines (thin clones of base images) and LXC system containers, one
// set of isolated networks per candidate, and one management network per session
// through which the grader reaches every machine.
//
// Every object it creates is named tl-SESSION.CANDIDATE.NAME and every domain
// carries a <metadata> tag (session, candidate, lab, machine, spec hash), so
// `up` reconciles with what exists, `down` removes it all and `gc` finds what a
// deleted session left behind.
package libvirt

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	lv "libvirt.org/go/libvirt"

	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/provision/naming"
)

// Name is the provider's name in the registry and on the command line.
const Name = "libvirt"

// Config is how to reach the libvirt daemon and where to keep files.
type Config struct {
	QEMU     string // URI for VMs, e.g. qemu:///system (a ?socket= URI works)
	LXC      string // URI for containers, e.g. lxc:///system
	DataDir  string // private dirs of containers, console logs
	PoolDir  string // the storage pool (dir) holding thin-clone overlays
	ImageDir string // base images by name
	HostVar  string // the host's real /var when libvirtd runs with a private /var
	VirtType string // qemu (TCG) or kvm
	// ConsoleListen is the address VM consoles (VNC) listen on: the host's
	// address on the exam-room network. Default: 127.0.0.1.
	ConsoleListen string
	// RootFS, when set, is the lab rootfs (scripts/build-rootfs.sh) and
	// containers are contained (contain.go): their own user namespace, that
	// rootfs as their root, trimmed capabilities, a filtered management NIC.
	// Empty: the layout before containment (the host's / read-only). As an
	// option: "" or "built" is DefaultRootFS, "host" the layout before.
	RootFS string
	// DaemonPID is libvirtd's PID: contained machines' mounts are made in its
	// mount namespace (a private daemon has its own). 0: the peer of the LXC
	// URI's socket.
	DaemonPID int
	// MountRoot is where contained machines' mounts are made, as libvirtd
	// sees it (DefaultMountRoot).
	MountRoot string
	// UIDTable is the host-wide table of the containers' uid ranges.
	UIDTable string
	// SambaDCTemplates is the host's dir of Samba AD templates that samba-dc
	// containers copy (provision.SambaDCTemplateRoot).
	SambaDCTemplates string
	// Hosts, when set, are the hosts labs are spread over (QEMU and LXC are
	// then the first host's, for the commands that work on one host).
	Hosts []Host
	// Timings, when set, is a file the provider appends its timed spans to
	// when it closes (timing.go; bench/up-down.sh reads them).
	Timings string
}

// Complete fills the defaults: the system daemon's URIs (the first host's
// when Hosts are set), the pool and images under DataDir, KVM, consoles on
// loopback, the contained layout's paths. The command line fills the rest
// (flags and their TAILAB_* variables): the library reads no environment.
func (c *Config) Complete() {
	if len(c.Hosts) > 0 {
		c.QEMU, c.LXC = c.Hosts[0].QEMU, c.Hosts[0].LXC
	}
	c.MountRoot = cmp.Or(c.MountRoot, DefaultMountRoot)
	c.UIDTable = cmp.Or(c.UIDTable, DefaultUIDTable)
	c.SambaDCTemplates = cmp.Or(c.SambaDCTemplates, provision.SambaDCTemplateRoot)
	c.QEMU = cmp.Or(c.QEMU, "qemu:///system")
	c.LXC = cmp.Or(c.LXC, "lxc:///system")
	switch c.RootFS {
	case "", RootFSBuilt:
		c.RootFS = DefaultRootFS()
		if strings.HasPrefix(c.LXC, "test:") {
			c.RootFS = "" // the test driver runs no container
		}
	case RootFSHost:
		c.RootFS = ""
	}
	c.PoolDir = cmp.Or(c.PoolDir, filepath.Join(c.DataDir, "pool"))
	c.ImageDir = cmp.Or(c.ImageDir, filepath.Join(c.DataDir, "images"))
	c.ConsoleListen = cmp.Or(c.ConsoleListen, "127.0.0.1")
	c.VirtType = cmp.Or(c.VirtType, "kvm")
}

// Provider is the libvirt provider.
type Provider struct {
	cfg   Config
	mu    sync.Mutex
	conns map[string]*lv.Connect
	// workers are extra connections for machine work (see workConn), by URI.
	workers map[string][]*lv.Connect
	nextW   map[string]int
	// libvirtd's PID (daemonPID), looked up once.
	pidOnce sync.Once
	pid     int
	// A host view (see on) shares its parent's connections.
	parent   *Provider
	hostName string
	// tim records timed spans when Config.Timings is set.
	tim *timings
	// push hears containers that tell they may be ready (pushed.go).
	push *pushWatch
}

var _ provision.Provider = (*Provider)(nil)

// New returns a libvirt provider of a completed configuration (Complete);
// connections open on first use.
func New(cfg Config) *Provider {
	p := &Provider{cfg: cfg, conns: map[string]*lv.Connect{}}
	if cfg.Timings != "" {
		p.tim = &timings{t0: time.Now()}
	}
	return p
}

// Name returns "libvirt".
func (p *Provider) Name() string { return Name }

// Close closes the connections.
func (p *Provider) Close() error {
	if p.parent != nil {
		return nil // a host view: the parent owns the connections
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for uri, c := range p.conns {
		c.Close()
		delete(p.conns, uri)
	}
	for uri, cs := range p.workers {
		for _, c := range cs {
			c.Close()
		}
		delete(p.workers, uri)
	}
	p.push.close()
	p.push = nil
	return p.writeTimings()
}

// WorkerConns is how many connections machine work is spread over: libvirtd
// runs at most max_client_requests (5 by default) calls of one connection at
// once, so `--parallel 8` on a single connection queues three of them.
const WorkerConns = 3

// workConn returns one of the connections machine work is spread over, in turn:
// the main connection first, then up to WorkerConns-1 more, opened on first use.
// An extra connection that fails to open falls back to the main one; the test
// driver gets none.
func (p *Provider) workConn(typ string) (*lv.Connect, error) {
	main, err := p.conn(typ)
	if err != nil {
		return nil, err
	}
	uri, r := p.uriRoot(typ)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.workers == nil {
		r.workers, r.nextW = map[string][]*lv.Connect{}, map[string]int{}
	}
	i := r.nextW[uri] % WorkerConns
	r.nextW[uri]++
	if i == 0 || strings.HasPrefix(uri, "test:") { // each test-driver connection has a world of its own
		return main, nil
	}
	for len(r.workers[uri]) < i {
		c, err := lv.NewConnect(uri)
		if err != nil {
			return main, nil
		}
		r.workers[uri] = append(r.workers[uri], c)
	}
	return r.workers[uri][i-1], nil
}

// uriRoot returns the URI for a domain type ("lxc" or "qemu") and the
// provider that owns the connections (a host view's parent).
func (p *Provider) uriRoot(typ string) (string, *Provider) {
	uri := p.cfg.QEMU
	if typ == "lxc" {
		uri = p.cfg.LXC
	}
	if p.parent != nil {
		return uri, p.parent
	}
	return uri, p
}

// conn returns the connection for a domain type ("lxc" or "qemu").
func (p *Provider) conn(typ string) (*lv.Connect, error) {
	uri, r := p.uriRoot(typ)
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.conns[uri]; ok {
		return c, nil
	}
	c, err := lv.NewConnect(uri)
	if err != nil {
		return nil, fmt.Errorf("connect to libvirt at %s: %w", uri, err)
	}
	r.conns[uri] = c
	return c, nil
}

func isNotFound(err error) bool {
	var e lv.Error
	if errors.As(err, &e) {
		switch e.Code {
		case lv.ERR_NO_DOMAIN, lv.ERR_NO_NETWORK, lv.ERR_NO_STORAGE_VOL, lv.ERR_NO_STORAGE_POOL:
			return true
		}
	}
	return false
}

func isNotRunning(err error) bool {
	var e lv.Error
	return errors.As(err, &e) && e.Code == lv.ERR_OPERATION_INVALID
}

// types lists the domain types a set of specs needs, containers first (their
// driver connects in milliseconds; QEMU's first connection probes for seconds).
func types(specs []*machineSpec) []string {
	var lxc, qemu bool
	for _, s := range specs {
		if s.Type == "lxc" {
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
	return out
}

// existingDomain is a domain found on the host.
type existingDomain struct {
	Name   string
	Type   string
	Tag    tag
	Active bool
}

// listDomains returns tailab domains on the given connections whose session
// matches (every tailab domain when session is "").
func (p *Provider) listDomains(typs []string, session string) (map[string]existingDomain, error) {
	out := map[string]existingDomain{}
	for _, typ := range typs {
		c, err := p.conn(typ)
		if err != nil {
			return nil, err
		}
		doms, err := c.ListAllDomains(0)
		if err != nil {
			return nil, fmt.Errorf("list domains: %w", err)
		}
		for i := range doms {
			d := &doms[i]
			name, err := d.GetName()
			if err == nil && strings.HasPrefix(name, naming.Prefix) {
				s, _, _, ok := naming.ParseName(name)
				if ok && (session == "" || s == session) {
					e := existingDomain{Name: name, Type: typ}
					if md, err := d.GetMetadata(lv.DOMAIN_METADATA_ELEMENT, naming.MetadataNS, lv.DOMAIN_AFFECT_CONFIG); err == nil {
						e.Tag, _ = parseTag(md)
					}
					e.Active, _ = d.IsActive()
					out[name] = e
				}
			}
			d.Free()
		}
	}
	return out, nil
}

// listNetworks returns tailab networks (of a session, or all) and whether each is active.
func (p *Provider) listNetworks(typ, session string) (map[string]bool, error) {
	c, err := p.conn(typ)
	if err != nil {
		return nil, err
	}
	nets, err := c.ListAllNetworks(0)
	if err != nil {
		return nil, fmt.Errorf("list networks: %w", err)
	}
	out := map[string]bool{}
	for i := range nets {
		n := &nets[i]
		if name, err := n.GetName(); err == nil {
			if s, _, _, ok := naming.ParseName(name); ok && (session == "" || s == session) {
				out[name], _ = n.IsActive()
			}
		}
		n.Free()
	}
	return out, nil
}

// ctxErr wraps a cancelled context for messages.
func ctxErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("interrupted: %w (run `tailab up` again to reconcile, or `tailab down` to remove)", err)
	}
	return nil
}
