// Package static is the provider of machines tailab did not create: a
// centre's own exam room (physical PCs, VMs on its own hypervisor) graded like
// a tailab lab. Its inventory (inventory.go) says where each candidate's
// machines are; `up` creates nothing and records them in the session (their
// addresses, ports and SSH host keys), `status` checks that each answers on
// the ports the grader uses, `down` forgets the session and never touches a
// machine. What would change the machines (faults, solution steps) is refused
// unless the lab allows it (labs.Existing, checked in exam).
package static

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/tailab/tailab/internal/errclass"
	"github.com/tailab/tailab/internal/tlspin"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/provision/readiness"
)

// Name is the provider's name (`up --provider static`).
const Name = "static"

// DefaultDialTimeout bounds one reachability check.
const DefaultDialTimeout = 3 * time.Second

// DefaultPorts are the protocols' ports, for the transports the grader uses.
var DefaultPorts = map[string]int{"ssh": 22, "winrm": 5986, "ldap": 389, "ldaps": 636, "smb": 445, "http": 80, "https": 443, "dns": 53}

// Config is the provider's configuration, filled by the command line.
type Config struct {
	// Inventory is the file given to `up --inventory` (LoadInventoryFile);
	// nil: the one recorded in the session at its `up`.
	Inventory     *Inventory
	InventoryYAML []byte
	// DialTimeout bounds one reachability check (default DefaultDialTimeout).
	DialTimeout time.Duration
	// Parallel bounds the machines checked at once (default 16).
	Parallel int
}

// Provider is the static provider.
type Provider struct{ cfg Config }

var _ provision.Provider = (*Provider)(nil)

// New returns a static provider.
func New(cfg Config) *Provider {
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = 16
	}
	return &Provider{cfg: cfg}
}

// Name returns "static".
func (*Provider) Name() string { return Name }

// inventory is the configured inventory, else the session's.
func (p *Provider) inventory(s *provision.Session) (*Inventory, error) {
	if p.cfg.Inventory != nil {
		return p.cfg.Inventory, nil
	}
	if s.Inventory == "" {
		return nil, errclass.Usagef("session %q has no inventory: bring it up with `tailab up LAB --provider static --inventory FILE`", s.Name)
	}
	return ParseInventory(s.InventorySource, []byte(s.Inventory))
}

// Plan checks the inventory against the lab and the roster, records it in the
// session (saved by the engine's Up) and keeps every machine: nothing is ever
// created, replaced or removed.
func (p *Provider) Plan(_ context.Context, s *provision.Session, ins []*labs.Instance) (*provision.Plan, error) {
	inv, err := p.inventory(s)
	if err != nil {
		return nil, err
	}
	lab, err := s.LoadLab()
	if err != nil {
		return nil, err
	}
	if err := errors.Join(inv.Check(lab, s.Candidates), CheckSecrets(lab)); err != nil {
		return nil, err
	}
	if p.cfg.Inventory != nil {
		s.Inventory, s.InventorySource = string(p.cfg.InventoryYAML), inv.File
	}
	plan := &provision.Plan{Session: s, Instances: ins, Private: inv}
	for _, in := range ins {
		for _, m := range in.Machines {
			e, _ := inv.Entry(in.Candidate.ID, m.Name)
			plan.Actions = append(plan.Actions, provision.Action{Op: provision.OpKeep,
				Resource: provision.Resource{Type: "machine", Name: e.Address, Candidate: in.Candidate.ID, Machine: m.Name, Host: Name},
				Reason:   "existing machine: tailab creates nothing"})
		}
	}
	return plan, nil
}

// Apply records each machine (address, ports, host key) after checking that
// it answers; a machine that does not is recorded not-ready (its checks will
// be `error`), which does not fail the `up`.
func (p *Provider) Apply(ctx context.Context, plan *provision.Plan, _ provision.ApplyOptions, obs provision.Observer) error {
	inv, ok := plan.Private.(*Inventory)
	if !ok {
		return errors.New("static: plan not made by the static provider")
	}
	known, err := inv.knownHosts()
	if err != nil {
		return err
	}
	p.each(ctx, plan.Session, plan.Instances, inv, func(ms provision.MachineState, e Machine, m labs.Machine) {
		p.pinHostKey(ctx, &ms, e, known)
		pinTLS(ctx, &ms, e)
		obs.Machine(ms)
		ev := provision.Event{Time: time.Now(), Candidate: ms.Candidate, Machine: ms.Machine, What: "kept"}
		if ms.State != provision.StateReady {
			ev.What, ev.Err = "failed", errors.New(ms.Error)
		}
		obs.Event(ev)
	})
	return ctx.Err()
}

// pinHostKey sets the SSH host key the grader will accept from the machine:
// the inventory's fingerprint, else the key known_hosts lists for it (a
// machine presenting another is not-ready, and its checks will name both),
// else the key it presents now, pinned on first use (FirstSeenHostKey).
func (p *Provider) pinHostKey(ctx context.Context, ms *provision.MachineState, e Machine, known *knownHosts) {
	if e.HostKey != "" {
		ms.SSHHostKey = e.HostKey
		return
	}
	if ms.Reach["ssh"] != "ok" {
		return // unreachable: the next up pins it
	}
	port := portOf(e, "ssh")
	key, err := FetchHostKey(ctx, net.JoinHostPort(e.Address, strconv.Itoa(port)), p.cfg.DialTimeout)
	if err != nil {
		ms.Reach["ssh"], ms.State = err.Error(), provision.StateNotReady
		ms.Error = err.Error()
		return
	}
	got := ssh.FingerprintSHA256(key)
	switch listed, want := known.check(e.Address, port, key); {
	case listed && want == "":
		ms.SSHHostKey = got
	case listed:
		ms.SSHHostKey = want
		ms.State = provision.StateNotReady
		ms.Reach["ssh"] = fmt.Sprintf("host key %s is not the one known_hosts lists (%s)", got, want)
		ms.Error = ms.Reach["ssh"]
	default:
		ms.FirstSeenHostKey = got
	}
}

// pinTLS sets the certificate the grader will trust from the machine's WinRM
// listener: the inventory's fingerprint, else the one presented now, pinned
// on first use (FirstSeenTLSPin).
func pinTLS(ctx context.Context, ms *provision.MachineState, e Machine) {
	if e.TLSSHA256 != "" {
		ms.TLSPin = tlspin.Normalize(e.TLSSHA256)
		return
	}
	if ms.Reach["winrm"] != "ok" {
		return
	}
	pin, err := readiness.ProbeTLS(ctx, net.JoinHostPort(e.Address, strconv.Itoa(portOf(e, "winrm"))))
	if err != nil {
		ms.Reach["winrm"], ms.State, ms.Error = "winrm: "+err.Error(), provision.StateNotReady, "winrm: "+err.Error()
		return
	}
	ms.FirstSeenTLSPin = pin
}

// Status checks every machine on the ports the grader uses.
func (p *Provider) Status(ctx context.Context, s *provision.Session, ins []*labs.Instance) ([]provision.MachineState, error) {
	inv, err := p.inventory(s)
	if err != nil {
		return nil, err
	}
	var (
		mu  sync.Mutex
		out []provision.MachineState
	)
	p.each(ctx, s, ins, inv, func(ms provision.MachineState, _ Machine, _ labs.Machine) {
		mu.Lock()
		out = append(out, ms)
		mu.Unlock()
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out, ctx.Err()
}

// each observes every machine of ins, Parallel at a time, and hands each
// state to f.
func (p *Provider) each(ctx context.Context, s *provision.Session, ins []*labs.Instance, inv *Inventory, f func(provision.MachineState, Machine, labs.Machine)) {
	sem := make(chan struct{}, p.cfg.Parallel)
	var wg sync.WaitGroup
	for _, in := range ins {
		for _, m := range in.Machines {
			e, _ := inv.Entry(in.Candidate.ID, m.Name)
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				f(p.observe(ctx, s, in.Candidate.ID, m, e), e, m)
			}()
		}
	}
	wg.Wait()
}

// observe is a machine's state: reachable on every transport the grader
// uses (ready) or not (not-ready, with what failed).
func (p *Provider) observe(ctx context.Context, s *provision.Session, candidate string, m labs.Machine, e Machine) provision.MachineState {
	ms := provision.MachineState{
		Session: s.Name, Candidate: candidate, Machine: m.Name, Role: m.Role, Kind: m.Kind, OS: m.OS,
		Host: Name, MgmtAddress: e.Address, Addresses: addresses(m, e), Ports: e.Ports,
		Reach: map[string]string{}, State: provision.StateReady,
	}
	var notes, failed []string
	for _, t := range Transports(m, e) {
		port := portOf(e, t)
		addr := net.JoinHostPort(e.Address, strconv.Itoa(port))
		dctx, cancel := context.WithTimeout(ctx, p.cfg.DialTimeout)
		var d net.Dialer
		conn, err := d.DialContext(dctx, "tcp", addr)
		cancel()
		if err != nil {
			ms.Reach[t] = fmt.Sprintf("%s %s: %v", t, addr, dialReason(err))
			failed = append(failed, ms.Reach[t])
			continue
		}
		conn.Close()
		ms.Reach[t] = "ok"
		notes = append(notes, t+":"+strconv.Itoa(port)+" ok")
	}
	ms.Error = strings.Join(append(failed, notes...), ", ")
	if len(failed) > 0 {
		ms.State = provision.StateNotReady
	} else if len(ms.Reach) > 0 {
		ms.ReadyAt = time.Now().UTC()
	}
	return ms
}

// dialReason is a dial error without Go's "dial tcp ...:" prefix.
func dialReason(err error) string {
	var sys *os.SyscallError
	if errors.As(err, &sys) {
		return sys.Err.Error() // "connection refused", "no route to host"
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err.Error()
	}
	return err.Error()
}

// Transports are the transports the grader uses on a machine: those of its
// credentials (ldap checked on ldaps' port when the inventory gives it) and
// those the inventory gives a port for, sorted.
func Transports(m labs.Machine, e Machine) []string {
	set := map[string]bool{}
	for t := range m.Credentials {
		if t == "ldap" && e.Ports["ldap"] == 0 {
			t = "ldaps" // the ldap probe's default
		}
		set[t] = true
	}
	for t := range e.Ports {
		set[t] = true
	}
	out := make([]string, 0, len(set))
	for t := range set {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

func portOf(e Machine, transport string) int {
	if p := e.Ports[transport]; p > 0 {
		return p
	}
	return DefaultPorts[transport]
}

// addresses are the machine's lab-network addresses: the inventory's, else
// the management address on each of its networks.
func addresses(m labs.Machine, e Machine) map[string]string {
	out := map[string]string{}
	for _, nic := range m.NICs {
		out[nic.Network] = cmp.Or(e.Addresses[nic.Network], e.Address)
	}
	return out
}

// Destroy forgets nothing itself and touches no machine: the engine's Down
// forgets the session's state.
func (*Provider) Destroy(context.Context, *provision.Session, []string, provision.Observer) error {
	return nil
}

// Orphans: the static provider owns no resource.
func (*Provider) Orphans(context.Context, map[string]bool) ([]provision.Resource, error) {
	return nil, nil
}

// RemoveOrphans has nothing to remove.
func (*Provider) RemoveOrphans(context.Context, []provision.Resource) error { return nil }

// Close releases nothing.
func (*Provider) Close() error { return nil }
