package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/tailab/tailab/internal/audit"
	"github.com/tailab/tailab/provision"
)

// sshConfig is the SSH server's configuration: password logins only, as
// `CANDIDATE` (the menu) or `CANDIDATE+MACHINE`.
func (g *Gateway) sshConfig() *ssh.ServerConfig {
	cfg := &ssh.ServerConfig{
		ServerVersion: "SSH-2.0-tailab-gateway",
		MaxAuthTries:  3,
		PasswordCallback: func(meta ssh.ConnMetadata, password []byte) (*ssh.Permissions, error) {
			login, mach, _ := strings.Cut(meta.User(), "+")
			if mach != "" {
				g.prewarm(login, mach)
			}
			if err := g.authenticate(login, string(password), remoteHost(meta.RemoteAddr()), "ssh"); err != nil {
				msg := msgInternal
				var ae *authError
				if errors.As(err, &ae) {
					msg = ae.Candidate
				}
				return nil, &ssh.BannerError{Err: err, Message: msg + "\r\n"}
			}
			return &ssh.Permissions{Extensions: map[string]string{"candidate": login, "machine": mach}}, nil
		},
	}
	cfg.AddHostKey(g.hostKey)
	return cfg
}

// ServeSSH accepts SSH connections on ln until ctx ends or ln is closed.
func (g *Gateway) ServeSSH(ctx context.Context, ln net.Listener) error {
	cfg := g.sshConfig()
	go func() { <-ctx.Done(); ln.Close() }()
	g.enforce(ctx)
	for {
		nc, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		go g.serveSSHConn(nc, cfg)
	}
}

// sshConn is one candidate's authenticated SSH connection.
type sshConn struct {
	g         *Gateway
	conn      *ssh.ServerConn
	candidate string
	machine   string // from the login (CANDIDATE+MACHINE), "" for the menu
	src       string

	mu       sync.Mutex
	machines []*machine
	chans    map[ssh.Channel]bool // session channels, for the closing warning
}

func (g *Gateway) serveSSHConn(nc net.Conn, cfg *ssh.ServerConfig) {
	defer nc.Close()
	_ = nc.SetDeadline(now().Add(g.loginGrace)) // the handshake and login
	conn, chans, reqs, err := ssh.NewServerConn(nc, cfg)
	if err != nil {
		g.cfg.Log.Debug("ssh handshake", "src", nc.RemoteAddr().String(), "err", err)
		return
	}
	defer conn.Close()
	_ = nc.SetDeadline(time.Time{})
	c := &sshConn{g: g, conn: conn, src: remoteHost(nc.RemoteAddr()),
		candidate: conn.Permissions.Extensions["candidate"], machine: conn.Permissions.Extensions["machine"],
		chans: map[ssh.Channel]bool{}}
	live := &liveConn{candidate: c.candidate, warn: c.warn, close: func() { conn.Close() }}
	defer g.track(live)()
	go ssh.DiscardRequests(reqs) // no port forwarding from the gateway, no agent
	ms, err := g.machines(c.candidate)
	if err != nil {
		g.cfg.Log.Error("candidate machines", "candidate", c.candidate, "err", err)
	}
	c.machines = ms
	for nch := range chans {
		switch nch.ChannelType() {
		case "session":
			go c.session(nch)
		case "direct-tcpip":
			go c.directTCPIP(nch)
		default:
			_ = nch.Reject(ssh.Prohibited, "refusé par la passerelle d'examen")
		}
	}
}

// warn writes the closing warning to every terminal of the connection.
func (c *sshConn) warn(msg string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for ch := range c.chans {
		_, _ = fmt.Fprintf(ch.Stderr(), "\r\n\a*** %s ***\r\n", msg)
	}
}

// target returns the candidate's machine by name, or the French reason why
// no terminal opens on it (and the admin's, for the log).
func (c *sshConn) target(name string) (*machine, string, error) {
	return terminalTarget(c.machines, c.candidate, name)
}

func terminalTarget(ms []*machine, candidate, name string) (*machine, string, error) {
	m, ok := find(ms, name)
	switch {
	case !ok:
		var names []string
		for _, m := range ms {
			names = append(names, m.Name)
		}
		return nil, fmt.Sprintf("Vous n'avez pas de machine « %s » (vos machines : %s).", trim(name, 40), strings.Join(names, ", ")),
			fmt.Errorf("no machine %q for candidate %s", trim(name, 40), candidate)
	case !m.terminal():
		return nil, fmt.Sprintf("La machine %s s'utilise par sa console graphique, dans le navigateur.", name),
			fmt.Errorf("machine %s has no terminal access (access: via %s)", name, m.Via)
	case !m.Contained:
		return nil, fmt.Sprintf("La machine %s n'est pas accessible pour l'instant : prévenez le surveillant.", name),
			fmt.Errorf("machine %s: %w", name, errNotContained)
	case m.Mgmt == "":
		return nil, fmt.Sprintf("La machine %s n'est pas démarrée : prévenez le surveillant.", name),
			fmt.Errorf("machine %s has no management address (state %s)", name, m.State)
	}
	return m, "", nil
}

// prewarm has the gateway's connection to a candidate's machine dialed while
// the candidate's password is checked, when there is none yet: a first
// login's bcrypt and the gateway's own login on the machine, its two
// slowest parts, then take the time of the longer one, not of both. It
// dials only to a machine the candidate could open a terminal on, during
// the exam: the pool keeps one such connection per candidate and machine,
// closed when unused, so a wrong password (or a thousand) costs the
// machine at most that one login of the gateway's, never a terminal.
func (g *Gateway) prewarm(candidate, name string) {
	if _, ok := g.sess.Candidate(candidate); !ok || g.pool.has(candidate, name) {
		return
	}
	go func() {
		if w, err := LoadWindow(g.store, g.sess.Name); err != nil || w.At(now()) != Open {
			return
		}
		ms, err := g.machines(candidate)
		if err != nil {
			return
		}
		if m, _, err := terminalTarget(ms, candidate, name); err == nil {
			g.pool.warm(candidate, m, g.dial)
		}
	}()
}

// dial opens the gateway's SSH connection to a machine.
func (g *Gateway) dial(m *machine) (*ssh.Client, error) {
	cl, err := ssh.Dial("tcp", m.sshAddr(g.cfg.MachineSSHPort), &ssh.ClientConfig{
		User: m.User, Auth: m.auth, HostKeyCallback: m.hostKey, Timeout: 10 * time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("machine %s (%s): %w", m.Name, m.Mgmt, err)
	}
	return cl, nil
}

// record audits what the candidate did through this connection on machine.
func (c *sshConn) record(action, machine string, f *audit.Facts) {
	c.g.audit.add(auditEntry(c.candidate, action, machine, f))
}

// auditTerminal audits what became of a terminal on machine.
func (c *sshConn) auditTerminal(machine string, f *audit.Facts) { c.record("terminal", machine, f) }

// auditEntry is an action of a candidate through the gateway.
func auditEntry(candidate, action, machine string, f *audit.Facts) provision.AuditEntry {
	return provision.AuditEntry{User: candidate, Action: action, Candidate: candidate, Machine: machine, Facts: f}
}

// directTCPIP opens `ssh -J` and `-L` forwards, only to the lab ports the lab
// declares on the candidate's own machines, dialed over the management path.
func (c *sshConn) directTCPIP(nch ssh.NewChannel) {
	var d struct {
		Host     string
		Port     uint32
		OrigHost string
		OrigPort uint32
	}
	if err := ssh.Unmarshal(nch.ExtraData(), &d); err != nil {
		_ = nch.Reject(ssh.ConnectionFailed, "requête invalide")
		return
	}
	var m *machine
	for _, x := range c.machines {
		if x.hasAddress(d.Host) && x.allowsPort(int(d.Port)) {
			m = x
		}
	}
	dest := net.JoinHostPort(d.Host, fmt.Sprint(d.Port))
	if m == nil || m.Mgmt == "" {
		c.record("forward", "", &audit.Facts{Outcome: audit.Refused, To: trim(dest, 80), Reason: "not a declared port of the candidate's machines"})
		_ = nch.Reject(ssh.Prohibited, "destination interdite : seuls les ports déclarés de vos propres machines sont accessibles")
		return
	}
	up, err := net.DialTimeout("tcp", net.JoinHostPort(m.Mgmt, fmt.Sprint(d.Port)), 10*time.Second)
	if err != nil {
		c.record("forward", m.Name, &audit.Facts{Outcome: audit.Failed, To: dest, Reason: err.Error()})
		_ = nch.Reject(ssh.ConnectionFailed, "la machine ne répond pas sur ce port")
		return
	}
	defer up.Close()
	ch, reqs, err := nch.Accept()
	if err != nil {
		return
	}
	defer ch.Close()
	go ssh.DiscardRequests(reqs)
	c.record("forward", m.Name, &audit.Facts{Outcome: audit.Opened, To: dest})
	pipe(ch, up)
}

func trim(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
