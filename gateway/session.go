package gateway

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"

	"github.com/tailab/tailab/internal/audit"
	"golang.org/x/crypto/ssh"
	"golang.org/x/term"
)

// ptyRequest is the payload of a "pty-req" (RFC 4254 6.2).
type ptyRequest struct {
	Term          string
	Cols, Rows    uint32
	Width, Height uint32
	Modes         string
}

// windowChange is the payload of a "window-change" (RFC 4254 6.7).
type windowChange struct {
	Cols, Rows    uint32
	Width, Height uint32
}

// sessionChan is one candidate session channel: requests before the start
// (pty, env) are kept and replayed on each machine the channel is relayed to.
type sessionChan struct {
	c  *sshConn
	ch ssh.Channel

	mu    sync.Mutex
	pty   *ptyRequest
	env   [][]byte
	up    ssh.Channel // the machine's channel being relayed, nil in the menu
	rec   *recorder
	start chan *ssh.Request
	input chan typed    // what the candidate types while no machine's channel is relayed
	done  chan struct{} // closed when the channel's handler returns
}

func (c *sshConn) session(nch ssh.NewChannel) {
	ch, reqs, err := nch.Accept()
	if err != nil {
		return
	}
	defer ch.Close()
	s := &sessionChan{c: c, ch: ch, start: make(chan *ssh.Request, 1), input: make(chan typed), done: make(chan struct{})}
	defer close(s.done)
	c.mu.Lock()
	c.chans[ch] = true
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.chans, ch)
		c.mu.Unlock()
	}()
	closed := make(chan struct{})
	go s.requests(reqs, closed)
	go s.read()
	var req *ssh.Request
	select {
	case req = <-s.start:
	case <-closed:
		return
	}
	if c.machine != "" {
		m, french, err := c.target(c.machine)
		if err != nil {
			s.refuse(req, french, err)
			return
		}
		status := s.relay(m, req, true)
		s.exit(status)
		return
	}
	if req.Type != "shell" || s.pty == nil {
		s.refuse(req, "Indiquez la machine dans l'identifiant : ssh -p PORT "+c.candidate+"+MACHINE@passerelle COMMANDE", errors.New("a command or subsystem without a machine"))
		return
	}
	_ = req.Reply(true, nil)
	s.menu()
	s.exit(0)
}

// requests handles the channel's requests until the client closes it.
func (s *sessionChan) requests(reqs <-chan *ssh.Request, closed chan struct{}) {
	defer close(closed)
	started := false
	for r := range reqs {
		s.mu.Lock()
		up := s.up
		switch r.Type {
		case "pty-req":
			var p ptyRequest
			if err := ssh.Unmarshal(r.Payload, &p); err != nil || started {
				s.mu.Unlock()
				_ = r.Reply(false, nil)
				continue
			}
			s.pty = &p
		case "env":
			if !started && len(s.env) < 32 {
				s.env = append(s.env, r.Payload)
			}
		case "window-change":
			var w windowChange
			if err := ssh.Unmarshal(r.Payload, &w); err == nil && s.pty != nil {
				s.pty.Cols, s.pty.Rows = w.Cols, w.Rows
				s.rec.resize(int(w.Cols), int(w.Rows))
			}
			if up != nil {
				_, _ = up.SendRequest(r.Type, false, r.Payload)
			}
		case "shell", "exec", "subsystem":
			if started {
				s.mu.Unlock()
				_ = r.Reply(false, nil)
				continue
			}
			started = true
			s.mu.Unlock()
			s.start <- r
			continue
		default: // signal, break, eow@openssh.com, ...: for the machine, if any
			s.mu.Unlock()
			ok := false
			if up != nil {
				ok, _ = up.SendRequest(r.Type, r.WantReply, r.Payload)
			}
			if r.WantReply {
				_ = r.Reply(ok, nil)
			}
			continue
		}
		s.mu.Unlock()
		if r.WantReply {
			_ = r.Reply(true, nil)
		}
	}
	s.mu.Lock()
	if s.up != nil {
		s.up.Close()
	}
	s.mu.Unlock()
}

// inputBufs recycles the buffers of what candidates type: a fresh 32 KiB
// per keystroke was most of the gateway's garbage, and its collections
// delayed every terminal.
var inputBufs = sync.Pool{New: func() any { b := make([]byte, 32*1024); return &b }}

// recycle gives a buffer of read back once its bytes are written on.
func recycle(b []byte) {
	if b = b[:cap(b)]; len(b) == 32*1024 {
		inputBufs.Put(&b)
	}
}

// typed is a piece of what the candidate typed, handed to the menu or to a
// relay that is starting; done is closed once it is consumed (written on, for
// a relay), so that nothing read after it overtakes it.
type typed struct {
	b    []byte
	done chan struct{}
}

// read reads what the candidate sends. While a machine's channel is relayed
// it writes it there itself (one goroutine less between a keystroke and the
// machine); otherwise it hands it over through s.input (closed at EOF).
func (s *sessionChan) read() {
	defer close(s.input)
	for {
		buf := *inputBufs.Get().(*[]byte)
		n, err := s.ch.Read(buf)
		s.mu.Lock()
		up, rec := s.up, s.rec
		s.mu.Unlock()
		switch {
		case n == 0:
			recycle(buf)
		case up != nil:
			rec.typed(buf[:n])
			_, _ = up.Write(buf[:n]) // fails only when the relay ends: typed into a closing session
			recycle(buf)
		default:
			t := typed{b: buf[:n], done: make(chan struct{})}
			select {
			case s.input <- t:
			case <-s.done:
				return
			}
			select {
			case <-t.done:
			case <-s.done:
				return
			}
		}
		if err != nil {
			return // s.input closed: the relay, if any, passes the end of input on
		}
	}
}

// refuse accepts req only to tell the candidate why not (in French: a refused
// request would only print "request failed"), logs the admin's reason and
// ends the channel with status 1.
func (s *sessionChan) refuse(req *ssh.Request, french string, err error) {
	_ = req.Reply(true, nil)
	s.c.g.cfg.Log.Info("refused", "candidate", s.c.candidate, "err", err)
	s.c.auditTerminal(s.c.machine, &audit.Facts{Outcome: audit.Refused, Reason: err.Error()})
	fmt.Fprintf(s.ch.Stderr(), "%s\r\n", french)
	s.exit(1)
}

func (s *sessionChan) exit(status int) {
	_, _ = s.ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{uint32(status)}))
}

// relay connects the channel to a session on the machine, started by req
// (shell, exec or subsystem), until the machine's side ends. With final,
// req is answered with the machine's answer and the exit status and signal
// are passed on; it returns the exit status (-1 when unknown).
func (s *sessionChan) relay(m *machine, req *ssh.Request, final bool) int {
	c := s.c
	replied := !final
	fail := func(err error) int {
		c.g.cfg.Log.Error("machine", "candidate", c.candidate, "machine", m.Name, "err", err)
		c.auditTerminal(m.Name, &audit.Facts{Outcome: audit.Failed, Reason: err.Error()})
		if !replied { // accepted, so the client shows why (a refused request only prints "request failed")
			_ = req.Reply(true, nil)
		}
		fmt.Fprintf(s.ch.Stderr(), "La machine %s ne répond pas : réessayez dans un instant, ou prévenez le surveillant.\r\n", m.Name)
		return 255
	}
	up, upReqs, release, err := c.g.pool.open(c.candidate, m, c.g.dial)
	if err != nil {
		return fail(err)
	}
	defer release()
	defer up.Close()
	s.mu.Lock()
	pty, env := s.pty, s.env
	s.mu.Unlock()
	if pty != nil {
		if ok, err := up.SendRequest("pty-req", true, ssh.Marshal(pty)); err != nil || !ok {
			return fail(fmt.Errorf("pty refused by the machine (%v)", err))
		}
	}
	for _, e := range env {
		_, _ = up.SendRequest("env", false, e)
	}
	ok, err := up.SendRequest(req.Type, true, req.Payload)
	if final {
		_ = req.Reply(ok && err == nil, nil)
		replied = true
	}
	if err != nil || !ok {
		return fail(fmt.Errorf("%s refused by the machine (%v)", req.Type, err))
	}
	what := &audit.Facts{Outcome: audit.Opened, Kind: req.Type, Door: "ssh", From: c.src} // shell, exec or subsystem
	if req.Type != "shell" {
		var p struct{ Value string }
		_ = ssh.Unmarshal(req.Payload, &p)
		what.Command = trim(p.Value, 200)
	}
	var rec *recorder
	if pty != nil && c.g.cfg.RecordDir != "" {
		rec, err = c.g.newRecording(c.candidate, m.Name, pty.Term, int(pty.Cols), int(pty.Rows))
		if err != nil {
			c.g.cfg.Log.Error("recording", "err", err)
		}
	}
	c.auditTerminal(m.Name, what)
	s.mu.Lock()
	s.up, s.rec = up, rec
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.up, s.rec = nil, nil
		s.mu.Unlock()
		_ = rec.close()
	}()

	status := -1
	reqsDone := make(chan struct{})
	go func() {
		defer close(reqsDone)
		for r := range upReqs {
			if r.Type == "exit-status" {
				var st struct{ Status uint32 }
				if ssh.Unmarshal(r.Payload, &st) == nil {
					status = int(st.Status)
				}
			}
			ok := false
			if final || (r.Type != "exit-status" && r.Type != "exit-signal") {
				ok, _ = s.ch.SendRequest(r.Type, r.WantReply, r.Payload)
			}
			if r.WantReply {
				_ = r.Reply(ok, nil)
			}
		}
	}()
	outDone := make(chan struct{}, 2)
	var out io.Writer = s.ch
	if rec != nil {
		out = io.MultiWriter(s.ch, rec)
	}
	go func() { _, _ = io.Copy(out, up); outDone <- struct{}{} }()
	go func() { _, _ = io.Copy(s.ch.Stderr(), up.Stderr()); outDone <- struct{}{} }()
	stop := make(chan struct{})
	go func() { // what the candidate types, to the machine
		for {
			select {
			case t, ok := <-s.input: // typed before the relay started
				if !ok {
					_ = up.CloseWrite()
					return
				}
				rec.typed(t.b)
				_, err := up.Write(t.b)
				recycle(t.b)
				close(t.done)
				if err != nil {
					return
				}
			case <-stop:
				return
			}
		}
	}()
	<-outDone
	<-outDone
	<-reqsDone
	close(stop)
	c.auditTerminal(m.Name, audit.Exit(status))
	return status
}

// menu shows the candidate's machines in French and relays the chosen one's
// shell, until the candidate quits.
func (s *sessionChan) menu() {
	c := s.c
	t := term.NewTerminal(&chanReader{s: s}, "> ")
	for {
		s.mu.Lock()
		if s.pty != nil {
			_ = t.SetSize(int(s.pty.Cols), int(s.pty.Rows))
		}
		s.mu.Unlock()
		var b strings.Builder
		fmt.Fprintf(&b, "\r\nPasserelle d'examen — %s (session %s)\r\nVos machines :\r\n", c.candidate, c.g.sess.Name)
		for i, m := range c.machines {
			addrs := make([]string, 0, len(m.Addresses))
			for _, a := range m.Addresses {
				addrs = append(addrs, a)
			}
			how := "terminal"
			if !m.terminal() {
				how = "console graphique (navigateur)"
			}
			fmt.Fprintf(&b, "  %d) %-10s %-22s %s\r\n", i+1, m.Name, strings.Join(addrs, ", "), how)
		}
		b.WriteString("Tapez le numéro ou le nom d'une machine (q pour quitter).\r\n")
		_, _ = t.Write([]byte(b.String()))
		line, err := t.ReadLine()
		if err != nil {
			return
		}
		line = strings.TrimSpace(line)
		if line == "q" || line == "quitter" || line == "exit" {
			return
		}
		if line == "" {
			continue
		}
		name := line
		var n int
		if _, err := fmt.Sscanf(line, "%d", &n); err == nil && n >= 1 && n <= len(c.machines) {
			name = c.machines[n-1].Name
		}
		m, french, err := c.target(name)
		if err != nil {
			c.auditTerminal(trim(name, 40), &audit.Facts{Outcome: audit.Refused, Reason: err.Error()})
			_, _ = t.Write([]byte(french + "\r\n"))
			continue
		}
		s.relay(m, &ssh.Request{Type: "shell"}, false)
	}
}

// chanReader reads what the candidate types (through s.input) and writes to
// the channel: the menu's terminal.
type chanReader struct {
	s             *sessionChan
	pending, read []byte // what is left of read, the buffer taken from s.input
}

func (r *chanReader) Read(p []byte) (int, error) {
	if len(r.pending) == 0 {
		t, ok := <-r.s.input
		if !ok {
			return 0, io.EOF
		}
		close(t.done)
		r.pending, r.read = t.b, t.b
	}
	n := copy(p, r.pending)
	if r.pending = r.pending[n:]; len(r.pending) == 0 {
		recycle(r.read)
	}
	return n, nil
}

func (r *chanReader) Write(p []byte) (int, error) { return r.s.ch.Write(p) }

// pipe copies both ways between a channel and a TCP connection, passing on
// half-closes, until both directions end.
func pipe(ch ssh.Channel, conn net.Conn) {
	done := make(chan struct{}, 2)
	go func() {
		_, _ = io.Copy(conn, ch)
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}()
	go func() {
		_, _ = io.Copy(ch, conn)
		_ = ch.CloseWrite()
		done <- struct{}{}
	}()
	<-done
	<-done
}
