// Package gateway is the candidates' only door into their labs on exam day:
// one server with an SSH side (a French menu of the candidate's machines, or
// `login+machine` straight to one) and a browser side (statement, topology,
// countdown, one terminal per machine), open only during the session's exam
// window, every login attempt audited and every terminal recorded.
//
// A candidate logs in with their id and the password of their access sheet.
// The gateway reaches the machines over the management path with the
// machines' own credentials, which never leave it, and refuses a shell in a
// container whose root is root on the host.
package gateway

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/tailab/tailab/internal/audit"
	"github.com/tailab/tailab/internal/store"
	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/results"
)

// now is the gateway's clock.
var now = time.Now

// Config configures a gateway for one session.
type Config struct {
	DataDir string // the data dir holding the session
	Session string
	// Grace is how long live terminals stay open after the window closes,
	// once warned (default 1 minute).
	Grace time.Duration
	// Location is the centre's time zone for French messages (default local).
	Location *time.Location
	// RecordDir receives the asciicast recordings, one directory per
	// candidate ("" records nothing).
	RecordDir string
	// RecordInput also records what candidates type (off by default: typed
	// passwords would be kept).
	RecordInput bool
	// Statement renders a candidate's exam statement as an HTML page (nil:
	// the lab has none).
	Statement func(candidate string) ([]byte, error)
	// Consoles finds the VMs' consoles (nil: the gateway opens none).
	Consoles ConsoleFinder
	// MachineSSHPort is the port of the machines' sshd (default 22).
	MachineSSHPort int
	// Log receives operational messages (default: discarded).
	Log *slog.Logger
}

// Gateway serves one session's candidates.
type Gateway struct {
	cfg       Config
	st        *provision.State
	store     *store.Store   // the gateway's own records: logins, window, keys
	results   *results.Store // the recordings' index
	sess      *provision.Session
	hostKey   ssh.Signer
	audit     *auditor
	bySrc     *limiter
	byLogin   *limiter
	passwords *verifier

	mu       sync.Mutex
	live     map[*liveConn]struct{}
	resolved map[string][]*machine // candidate → labMachines
	pool     *pool                 // SSH connections to the machines
	enforced sync.Once
	web      *webState
	// loginGrace bounds an SSH connection's handshake and login, like
	// OpenSSH's LoginGraceTime: a silent or garbled client is dropped.
	loginGrace time.Duration
}

// liveConn is a candidate's open connection (SSH or a browser terminal).
type liveConn struct {
	candidate string
	warn      func(msg string)
	close     func()
	warned    bool
}

// New prepares a gateway: the session must exist.
func New(cfg Config) (*Gateway, error) {
	if cfg.DataDir == "" || cfg.Session == "" {
		return nil, errors.New("gateway: a data dir and a session are required")
	}
	if cfg.Grace <= 0 {
		cfg.Grace = time.Minute
	}
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	if cfg.MachineSSHPort == 0 {
		cfg.MachineSSHPort = 22
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	st, err := provision.OpenState(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	sess, err := st.Session(cfg.Session)
	if err != nil {
		return nil, err
	}
	gs := st.Store()
	key, err := HostKey(gs)
	if err != nil {
		return nil, err
	}
	rs := results.OnStore(gs)
	g := &Gateway{
		cfg: cfg, st: st, store: gs, results: rs, sess: sess, hostKey: key,
		audit:      newAuditor(st, rs, cfg.Session, cfg.Log),
		bySrc:      newLimiter(20, time.Minute),
		byLogin:    newLimiter(5, time.Minute),
		passwords:  newVerifier(),
		live:       map[*liveConn]struct{}{},
		resolved:   map[string][]*machine{},
		pool:       newPool(30 * time.Second),
		loginGrace: 2 * time.Minute,
	}
	if err := g.resolveAll(); err != nil { // else each candidate's first login resolves their own, and says why not
		cfg.Log.Error("candidates' machines", "err", err)
	}
	return g, nil
}

// Close flushes the audit log. Listeners are closed by their owners.
func (g *Gateway) Close() error {
	g.pool.close()
	g.audit.close()
	return nil
}

// HostKey returns the gateway's SSH host key, generated on first use and kept
// in the store: candidates' known_hosts stay valid across sessions.
func HostKey(st *store.Store) (ssh.Signer, error) {
	var pemText string
	err := st.Update(func(tx *store.Tx) error {
		err := tx.Get(bucketKeys, "ssh-host-key", &pemText)
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return err
		}
		blk, err := ssh.MarshalPrivateKey(priv, "tailab gateway")
		if err != nil {
			return err
		}
		pemText = string(pem.EncodeToMemory(blk))
		return tx.Put(bucketKeys, "ssh-host-key", pemText)
	})
	if err != nil {
		return nil, fmt.Errorf("gateway host key: %w", err)
	}
	return ssh.ParsePrivateKey([]byte(pemText))
}

// French messages a candidate reads.
const (
	msgBadLogin    = "Identifiant ou mot de passe incorrect."
	msgRateLimited = "Trop de tentatives de connexion : réessayez dans %d s."
	msgInternal    = "Erreur de la passerelle : prévenez le surveillant."
)

// authError is a refused login: Candidate is the French message.
type authError struct {
	Candidate string
	err       error
}

func (e *authError) Error() string { return e.err.Error() }
func (e *authError) Unwrap() error { return e.err }

// authenticate checks one login attempt from src over via (ssh or web) and
// audits it, whatever the outcome.
func (g *Gateway) authenticate(login, password, src, via string) error {
	t := now()
	entry := provision.AuditEntry{User: login, Action: "login", Candidate: login}
	refuse := func(french string, err error) error {
		entry.Facts = &audit.Facts{Outcome: audit.Refused, Door: via, From: src, Reason: err.Error()}
		g.audit.add(entry)
		return &authError{Candidate: french, err: err}
	}
	if _, ok := g.sess.Candidate(login); !ok {
		entry.Candidate = ""
	}
	for _, l := range []struct {
		lim *limiter
		key string
	}{{g.bySrc, "src " + src}, {g.byLogin, "login " + login}} {
		if blocked, wait := l.lim.blocked(l.key, t); blocked {
			return refuse(fmt.Sprintf(msgRateLimited, int(wait.Seconds())+1), fmt.Errorf("too many failed logins (%s)", l.key))
		}
	}
	if err := g.passwords.check(g.store, g.sess.Name, login, password); err != nil {
		if errors.Is(err, errBadLogin) {
			g.bySrc.fail("src "+src, t)
			g.byLogin.fail("login "+login, t)
			if entry.Candidate == "" {
				err = errors.New("unknown login")
			}
			return refuse(msgBadLogin, err)
		}
		return refuse(msgInternal, err)
	}
	w, err := LoadWindow(g.store, g.sess.Name)
	if err != nil {
		return refuse(msgInternal, err)
	}
	if msg := w.Refusal(t, g.cfg.Location); msg != "" {
		what := "the exam is not open"
		if w.At(t) == Closed {
			what = "the exam is closed"
		}
		return refuse(msg, errors.New(what))
	}
	entry.Facts = &audit.Facts{Outcome: audit.Accepted, Door: via, From: src}
	g.audit.add(entry)
	return nil
}

// track registers a live connection until the returned func is called.
func (g *Gateway) track(l *liveConn) func() {
	g.mu.Lock()
	g.live[l] = struct{}{}
	g.mu.Unlock()
	return func() {
		g.mu.Lock()
		delete(g.live, l)
		g.mu.Unlock()
	}
}

// enforce starts enforceWindow once, whichever side starts first.
func (g *Gateway) enforce(ctx context.Context) {
	g.enforced.Do(func() { go g.enforceWindow(ctx, time.Second) })
}

// HostKey is the fingerprint of the gateway's SSH host key.
func (g *Gateway) HostKey() string { return HostKeyFingerprint(g.hostKey) }

// enforceWindow warns, then closes after the grace period, every live
// connection once the window is closed. It runs until ctx ends.
func (g *Gateway) enforceWindow(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		w, err := LoadWindow(g.store, g.sess.Name)
		if err != nil {
			g.cfg.Log.Error("exam window", "err", err)
			continue
		}
		if w.At(now()) != Closed {
			continue
		}
		g.mu.Lock()
		for l := range g.live {
			if l.warned {
				continue
			}
			l.warned = true
			l.warn(fmt.Sprintf("L'examen est terminé : votre session sera fermée dans %d s. Enregistrez votre travail.", int(g.cfg.Grace.Seconds())))
			time.AfterFunc(g.cfg.Grace, l.close)
			g.audit.add(provision.AuditEntry{User: l.candidate, Action: "close", Candidate: l.candidate,
				Facts: &audit.Facts{Outcome: audit.Closed, Grace: g.cfg.Grace.String()}})
		}
		g.mu.Unlock()
	}
}

// remoteHost is the source address of a connection, without its port.
func remoteHost(a net.Addr) string {
	h, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return h
}
