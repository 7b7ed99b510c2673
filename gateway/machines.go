package gateway

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"sync/atomic"

	"golang.org/x/crypto/ssh"

	"github.com/tailab/tailab/internal/secret"
	"github.com/tailab/tailab/internal/sshpin"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
)

// machine is one of a candidate's machines as the gateway reaches it: over
// the management path, with the machine's own ssh credentials (which never
// leave the gateway), as the account the lab's `access:` names.
type machine struct {
	Name      string
	Kind      string
	OS        string
	Hostname  string
	Via       string // labs.AccessSSH or labs.AccessConsole; "" when the lab gives no access
	User      string
	Mgmt      string            // management address
	Addresses map[string]string // lab network → address
	Ports     []int             // lab ports reachable with direct-tcpip
	State     string
	Contained bool

	auth    []ssh.AuthMethod
	hostKey ssh.HostKeyCallback
}

// terminal reports whether the candidate gets a terminal on the machine.
func (m *machine) terminal() bool { return m.Via == labs.AccessSSH }

// sshAddr is where the gateway dials the machine's sshd.
func (m *machine) sshAddr(port int) string { return net.JoinHostPort(m.Mgmt, strconv.Itoa(port)) }

// hasAddress reports whether host names the machine on its lab networks (an
// address, its name or its host name).
func (m *machine) hasAddress(host string) bool {
	if host == m.Name || (m.Hostname != "" && host == m.Hostname) {
		return true
	}
	for _, a := range m.Addresses {
		if a == host {
			return true
		}
	}
	return false
}

// allowsPort reports whether the lab lets a candidate reach port on the machine.
func (m *machine) allowsPort(port int) bool { return slices.Contains(m.Ports, port) }

// errNotContained refuses a shell in a container whose root is root on the host.
var errNotContained = errors.New("the container is not contained (its root is root on the host): the gateway opens no shell in it; bring the session up with --rootfs built (TAILAB_ROOTFS=built, scripts/build-rootfs.sh)")

// skipContainment lets the gateway package's own tests open shells in the
// test's sshd, which stands for a container but is no container at all. It is
// never set outside those tests; no flag or option reaches it.
// Atomic: a test's cleanup resets it while a handler of that test may still
// be reading it (the race detector caught it).
var skipContainment atomic.Bool

// contained reports whether a candidate may get a shell on the machine: a VM,
// or a container whose root is an unprivileged user on the host (`up` with a
// lab root file system records the uid its root maps to: UIDBase).
func contained(ms provision.MachineState) bool {
	return ms.Kind == labs.KindVM || ms.UIDBase != 0 || skipContainment.Load()
}

// machines resolves a candidate's machines: the lab's `access:` and
// credentials, the recorded states (management addresses) and the
// candidate's secrets. The lab and the credentials are resolved once per
// candidate (the gateway serves one session, whose lab and secrets do not
// change under it: parsing the lab and opening the state file for writing at
// every login cost most of a login); the states are read at every call, one
// read-only look at the state file, so a reset or an `up` shows at once.
func (g *Gateway) machines(candidate string) ([]*machine, error) {
	base, err := g.labMachines(candidate)
	if err != nil {
		return nil, err
	}
	states, err := g.st.Machines(g.sess.Name)
	if err != nil {
		return nil, fmt.Errorf("read machine states: %w", err)
	}
	byName := map[string]provision.MachineState{}
	for _, ms := range states {
		if ms.Candidate == candidate {
			byName[ms.Machine] = ms
		}
	}
	out := make([]*machine, len(base))
	for i, b := range base {
		m := *b
		m.Addresses = maps.Clone(b.Addresses)
		m.State, m.hostKey = provision.StateMissing, ssh.InsecureIgnoreHostKey() // a machine whose provider pinned no host key (a VM)
		if ms, ok := byName[m.Name]; ok {
			m.Mgmt, m.State, m.Contained = ms.MgmtAddress, ms.State, contained(ms)
			maps.Copy(m.Addresses, ms.Addresses)
			if ms.SSHHostKey != "" {
				m.hostKey = sshpin.Callback(ms.SSHHostKey) // the key `up` generated: another is refused, naming both
			}
		}
		out[i] = &m
	}
	return out, nil
}

// labMachines are a candidate's machines as the lab declares them, with
// their credentials parsed, without state; resolved once per candidate.
func (g *Gateway) labMachines(candidate string) ([]*machine, error) {
	g.mu.Lock()
	ms, ok := g.resolved[candidate]
	g.mu.Unlock()
	if ok {
		return ms, nil
	}
	all, err := resolveMachines(g.st, g.sess, []string{candidate})
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	g.resolved[candidate] = all[candidate]
	g.mu.Unlock()
	return all[candidate], nil
}

// resolveAll resolves every candidate's machines at once (one reading of
// the lab, one transaction for the secrets), so that no candidate's first
// login pays for it.
func (g *Gateway) resolveAll() error {
	var ids []string
	for _, c := range g.sess.Candidates {
		ids = append(ids, c.ID)
	}
	all, err := resolveMachines(g.st, g.sess, ids)
	if err != nil {
		return err
	}
	g.mu.Lock()
	maps.Copy(g.resolved, all)
	g.mu.Unlock()
	return nil
}

// resolveMachines resolves the candidates' machines from the lab and their
// secrets.
func resolveMachines(st *provision.State, sess *provision.Session, candidates []string) (map[string][]*machine, error) {
	ins, err := sess.Instances(candidates...)
	if err != nil {
		return nil, err
	}
	if len(ins) == 0 {
		return map[string][]*machine{}, nil
	}
	secrets, err := st.SecretsFor(sess.Name, ins[0].Lab, candidates)
	if err != nil {
		return nil, fmt.Errorf("the candidates' secrets: %w", err)
	}
	out := map[string][]*machine{}
	for _, in := range ins {
		id := in.Candidate.ID
		ms, err := instanceMachines(in, secrets[id])
		if err != nil {
			return nil, fmt.Errorf("candidate %s: %w", id, err)
		}
		out[id] = ms
	}
	return out, nil
}

func instanceMachines(in *labs.Instance, secrets map[string]secret.Value) ([]*machine, error) {
	var out []*machine
	for _, lm := range in.Machines {
		if lm.Access == nil {
			continue
		}
		m := &machine{
			Name: lm.Name, Kind: lm.Kind, OS: lm.OS, Hostname: lm.Hostname,
			Via: lm.Access.Via, User: lm.Access.User, Ports: lm.Access.Ports,
			Addresses: map[string]string{},
		}
		if m.Via == "" {
			m.Via = labs.AccessSSH
		}
		for _, nic := range lm.NICs {
			if nic.Address != "" && nic.Address != "dhcp" {
				m.Addresses[nic.Network] = nic.Address
			}
		}
		if c, ok := lm.Credentials["ssh"]; ok {
			if c.Key != "" {
				signer, err := ssh.ParsePrivateKey([]byte(secrets[c.Key].Reveal()))
				if err != nil {
					return nil, fmt.Errorf("machine %s: the ssh key %q: %w", lm.Name, c.Key, err)
				}
				m.auth = append(m.auth, ssh.PublicKeys(signer))
			}
			if c.Password != "" {
				m.auth = append(m.auth, ssh.Password(secrets[c.Password].Reveal()))
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// find returns the candidate's machine of that name.
func find(ms []*machine, name string) (*machine, bool) {
	for _, m := range ms {
		if m.Name == name {
			return m, true
		}
	}
	return nil, false
}
