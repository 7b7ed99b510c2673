package gateway

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"

	"golang.org/x/crypto/ssh"
	"golang.org/x/net/websocket"
)

// termMessage is what the browser sends on a terminal's WebSocket: typed
// text, or the terminal's new size.
type termMessage struct {
	Input string `json:"i,omitempty"`
	Cols  int    `json:"cols,omitempty"`
	Rows  int    `json:"rows,omitempty"`
}

// maxTermMessage bounds one message from the browser: the page sends a
// paste in pieces, and the library closes the socket on a larger frame.
const maxTermMessage = 256 << 10

// terminal serves /terminal?machine=M: a WebSocket carrying a shell on the
// candidate's machine, opened by the gateway over SSH, recorded and audited.
// The machine's output goes to the browser as binary messages; French
// notices (the close warning, a refusal) as text messages {"avis": ...}.
func (g *Gateway) terminal(w http.ResponseWriter, r *http.Request, candidate string) {
	name := r.URL.Query().Get("machine")
	src := remoteHost(addr(r.RemoteAddr))
	srv := websocket.Server{
		Handshake: sameOrigin,
		Handler:   func(ws *websocket.Conn) { g.serveTerminal(ws, candidate, name, src) },
	}
	srv.ServeHTTP(w, r)
}

func (g *Gateway) serveTerminal(ws *websocket.Conn, candidate, name, src string) {
	defer ws.Close()
	ws.MaxPayloadBytes = maxTermMessage
	var sendMu sync.Mutex
	notice := func(msg string) {
		b, _ := json.Marshal(map[string]string{"avis": msg})
		sendMu.Lock()
		defer sendMu.Unlock()
		_ = websocket.Message.Send(ws, string(b))
	}
	audit := func(format string, args ...any) {
		g.audit.add(auditEntry(candidate, "terminal", trim(name, 40), fmt.Sprintf(format, args...)))
	}
	ms, err := g.machines(candidate)
	if err != nil {
		g.cfg.Log.Error("candidate machines", "candidate", candidate, "err", err)
		notice(msgInternal)
		return
	}
	m, french, err := terminalTarget(ms, candidate, name)
	if err != nil {
		audit("refused: %v (web from %s)", err, src)
		notice(french)
		return
	}
	// the first message is the terminal's size
	var first termMessage
	var raw string
	if err := websocket.Message.Receive(ws, &raw); err != nil || json.Unmarshal([]byte(raw), &first) != nil {
		return
	}
	cols, rows := clampSize(first.Cols, first.Rows)
	cl, err := g.dial(m)
	if err != nil {
		audit("failed: %v", err)
		notice(fmt.Sprintf("La machine %s ne répond pas : réessayez dans un instant, ou prévenez le surveillant.", m.Name))
		return
	}
	defer cl.Close()
	sess, err := cl.NewSession()
	if err != nil {
		audit("failed: %v", err)
		notice(msgInternal)
		return
	}
	defer sess.Close()
	if err := sess.RequestPty("xterm-256color", rows, cols, ssh.TerminalModes{ssh.ECHO: 1}); err != nil {
		audit("failed: pty: %v", err)
		notice(msgInternal)
		return
	}
	stdin, _ := sess.StdinPipe()
	stdout, _ := sess.StdoutPipe()
	sess.Stderr = nil // a pty merges it into stdout
	if err := sess.Shell(); err != nil {
		audit("failed: shell: %v", err)
		notice(msgInternal)
		return
	}
	var rec *recorder
	if g.cfg.RecordDir != "" {
		if rec, err = g.newRecording(candidate, m.Name, "xterm-256color", cols, rows); err != nil {
			g.cfg.Log.Error("recording", "err", err)
		}
	}
	defer rec.close()
	audit("shell (web from %s)", src)
	live := &liveConn{candidate: candidate, warn: notice, close: func() { ws.Close(); cl.Close() }}
	defer g.track(live)()

	done := make(chan struct{})
	go func() { // the machine's output, to the browser and the recording
		defer close(done)
		buf := make([]byte, 32<<10)
		for {
			n, err := stdout.Read(buf)
			if n > 0 {
				_, _ = rec.Write(buf[:n])
				sendMu.Lock()
				serr := websocket.Message.Send(ws, buf[:n])
				sendMu.Unlock()
				if serr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	go func() { // what the candidate types and the size, to the machine
		defer cl.Close()
		for {
			var raw string
			if err := websocket.Message.Receive(ws, &raw); err != nil {
				return
			}
			var msg termMessage
			if json.Unmarshal([]byte(raw), &msg) != nil {
				continue // not ours: ignored
			}
			if msg.Input != "" {
				rec.typed([]byte(msg.Input))
				if _, err := io.WriteString(stdin, msg.Input); err != nil {
					return
				}
			}
			if msg.Cols > 0 && msg.Rows > 0 {
				c, r := clampSize(msg.Cols, msg.Rows)
				_ = sess.WindowChange(r, c)
				rec.resize(c, r)
			}
		}
	}()
	<-done
	status := -1
	if err := sess.Wait(); err == nil {
		status = 0
	} else if ee, ok := err.(*ssh.ExitError); ok {
		status = ee.ExitStatus()
	}
	audit("ended (status %d)", status)
	notice(fmt.Sprintf("Session terminée sur %s.", m.Name))
}

// clampSize keeps a terminal size sensible whatever the browser says.
func clampSize(cols, rows int) (int, int) {
	if cols < 10 || cols > 1000 {
		cols = 80
	}
	if rows < 2 || rows > 500 {
		rows = 24
	}
	return cols, rows
}
