package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"golang.org/x/net/websocket"

	"github.com/tailab/tailab/internal/audit"
	"github.com/tailab/tailab/internal/rfb"
	"github.com/tailab/tailab/labs"
	"github.com/tailab/tailab/provision"
)

// ConsoleFinder says where a candidate's VM console listens now and with
// which password: the provider's live view (libvirt gives a VM another port
// when it restarts, so the gateway asks at every opening).
type ConsoleFinder interface {
	Console(ctx context.Context, candidate, machine string) (*provision.Console, error)
}

// EngineConsoles finds consoles with the session's provider
// (provision.Engine.Access), opened on first use and kept.
type EngineConsoles struct {
	Session *provision.Session
	Open    func() (*provision.Engine, error)

	mu  sync.Mutex
	eng *provision.Engine
}

// Console implements ConsoleFinder.
func (e *EngineConsoles) Console(ctx context.Context, candidate, machine string) (*provision.Console, error) {
	e.mu.Lock()
	if e.eng == nil {
		eng, err := e.Open()
		if err != nil {
			e.mu.Unlock()
			return nil, err
		}
		e.eng = eng
	}
	eng := e.eng
	e.mu.Unlock()
	list, err := eng.Access(ctx, e.Session, []string{candidate})
	if err != nil {
		return nil, err
	}
	for _, a := range list {
		if a.Candidate == candidate && a.Machine == machine {
			if a.Console == nil {
				return nil, fmt.Errorf("machine %s has no console", machine)
			}
			return a.Console, nil
		}
	}
	return nil, fmt.Errorf("machine %s of candidate %s not found by the provider", machine, candidate)
}

// Close closes the provider, if it was opened.
func (e *EngineConsoles) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.eng == nil {
		return nil
	}
	return e.eng.Provider.Close()
}

// sameOrigin lets only the gateway's own page open a WebSocket (no other
// site, riding on the candidate's cookie).
func sameOrigin(_ *websocket.Config, r *http.Request) error {
	o, err := url.Parse(r.Header.Get("Origin"))
	if err != nil || o.Host != r.Host || o.Scheme != "https" {
		return fmt.Errorf("origin %q refused", r.Header.Get("Origin"))
	}
	return nil
}

// console serves /console?machine=M: a WebSocket carrying RFB between the
// browser (noVNC) and the console of the candidate's VM M. The gateway logs
// in to the VNC server with the candidate's console password and offers the
// browser no authentication at all: the password stays in the gateway.
func (g *Gateway) console(w http.ResponseWriter, r *http.Request, candidate string) {
	name := r.URL.Query().Get("machine")
	src := remoteHost(addr(r.RemoteAddr))
	srv := websocket.Server{
		Handshake: sameOrigin,
		Handler:   func(ws *websocket.Conn) { g.serveConsole(ws, candidate, name, src) },
	}
	srv.ServeHTTP(w, r)
}

// consoleTarget resolves a console request to one of the candidate's VMs.
func consoleTarget(ms []*machine, candidate, name string) (*machine, string, error) {
	m, ok := find(ms, name)
	switch {
	case !ok:
		return nil, fmt.Sprintf("Vous n'avez pas de machine « %s ».", trim(name, 40)),
			fmt.Errorf("no machine %q for candidate %s", trim(name, 40), candidate)
	case m.Kind != labs.KindVM:
		return nil, fmt.Sprintf("La machine %s n'a pas de console graphique : utilisez son terminal.", m.Name),
			fmt.Errorf("machine %s is a %s: no graphics console", m.Name, m.Kind)
	}
	return m, "", nil
}

// consoleHandshake bounds the two RFB handshakes: a silent VNC server or
// browser is dropped.
const consoleHandshake = 20 * time.Second

func (g *Gateway) serveConsole(ws *websocket.Conn, candidate, name, src string) {
	defer ws.Close()
	ws.PayloadType = websocket.BinaryFrame
	_ = ws.SetDeadline(time.Now().Add(consoleHandshake))
	record := func(f *audit.Facts) { g.audit.add(auditEntry(candidate, "console", trim(name, 40), f)) }
	refuse := func(french string) { _ = vncOffer(ws, french) }
	ms, err := g.machines(candidate)
	if err != nil {
		g.cfg.Log.Error("candidate machines", "candidate", candidate, "err", err)
		refuse(msgInternal)
		return
	}
	m, french, err := consoleTarget(ms, candidate, name)
	if err != nil {
		record(&audit.Facts{Outcome: audit.Refused, Reason: err.Error(), Door: "web", From: src})
		refuse(french)
		return
	}
	vnc, err := g.dialConsole(candidate, m.Name)
	if err != nil {
		record(&audit.Facts{Outcome: audit.Failed, Reason: err.Error()})
		refuse(fmt.Sprintf("La console de %s ne répond pas : réessayez dans un instant, ou prévenez le surveillant.", m.Name))
		return
	}
	defer vnc.Close()
	if err := vncOffer(ws, ""); err != nil {
		record(&audit.Facts{Outcome: audit.Failed, Reason: "browser handshake: " + err.Error()})
		return
	}
	// ClientInit: always shared, so a tab does not disconnect the other
	// viewers of the console (another tab, the admin's remote-viewer).
	var shared [1]byte
	if _, err := io.ReadFull(ws, shared[:]); err != nil {
		return
	}
	if _, err := vnc.Write([]byte{1}); err != nil {
		return
	}
	_ = ws.SetDeadline(time.Time{})
	_ = vnc.SetDeadline(time.Time{})
	record(&audit.Facts{Outcome: audit.Opened, Kind: audit.Console, Door: "web", From: src})
	live := &liveConn{candidate: candidate, warn: func(string) {}, close: func() { ws.Close(); vnc.Close() }}
	defer g.track(live)()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(ws, vnc); ws.Close(); done <- struct{}{} }()
	go func() { _, _ = io.Copy(vnc, ws); vnc.Close(); done <- struct{}{} }()
	<-done
	<-done
	record(&audit.Facts{Outcome: audit.Closed})
}

// dialConsole connects to a VM's VNC server and logs in with the
// candidate's console password; the connection is ready for ClientInit.
func (g *Gateway) dialConsole(candidate, machine string) (net.Conn, error) {
	if g.cfg.Consoles == nil {
		return nil, errors.New("the gateway has no way to find consoles")
	}
	ctx, cancel := context.WithTimeout(context.Background(), consoleHandshake)
	defer cancel()
	con, err := g.cfg.Consoles.Console(ctx, candidate, machine)
	if err != nil {
		return nil, fmt.Errorf("console of %s: %w", machine, err)
	}
	if con.Type != "vnc" || con.Address() == "" {
		return nil, fmt.Errorf("console of %s: no VNC port (is the VM running?)", machine)
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", con.Address())
	if err != nil {
		return nil, fmt.Errorf("console of %s: %w", machine, err)
	}
	_ = c.SetDeadline(time.Now().Add(consoleHandshake))
	if _, err := rfb.Login(c, con.Password.Reveal()); err != nil {
		c.Close()
		return nil, fmt.Errorf("console of %s at %s: %w", machine, con.Address(), err)
	}
	return c, nil
}
