package gateway

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/tailab/tailab/internal/audit"
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
	record := func(f *audit.Facts) { g.audit.add(auditEntry(candidate, "terminal", trim(name, 40), f)) }
	ms, err := g.machines(candidate)
	if err != nil {
		g.cfg.Log.Error("candidate machines", "candidate", candidate, "err", err)
		notice(msgInternal)
		return
	}
	m, french, err := terminalTarget(ms, candidate, name)
	if err != nil {
		record(&audit.Facts{Outcome: audit.Refused, Reason: err.Error(), Door: "web", From: src})
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
	// a channel on the candidate's pooled connection to the machine, shared
	// with their other terminals (SSH or browser): no handshake and login on
	// the machine per tab
	ch, reqs, release, err := g.pool.open(candidate, m, g.dial)
	if err != nil {
		record(&audit.Facts{Outcome: audit.Failed, Reason: err.Error()})
		notice(fmt.Sprintf("La machine %s ne répond pas : réessayez dans un instant, ou prévenez le surveillant.", m.Name))
		return
	}
	defer release()
	defer ch.Close()
	exited := make(chan int, 1)
	go func() { // the machine's requests: its exit status
		status := -1
		for r := range reqs {
			var st struct{ Status uint32 }
			if r.Type == "exit-status" && ssh.Unmarshal(r.Payload, &st) == nil {
				status = int(st.Status)
			}
			if r.WantReply {
				_ = r.Reply(false, nil)
			}
		}
		exited <- status
	}()
	go func() { _, _ = io.Copy(io.Discard, ch.Stderr()) }() // a pty merges it into the output: nothing, or the window stalls
	pty := ptyRequest{Term: "xterm-256color", Cols: uint32(cols), Rows: uint32(rows), Modes: string([]byte{ssh.ECHO, 0, 0, 0, 1, 0})}
	if ok, err := ch.SendRequest("pty-req", true, ssh.Marshal(pty)); err != nil || !ok {
		record(&audit.Facts{Outcome: audit.Failed, Reason: fmt.Sprintf("pty refused by the machine (%v)", err)})
		notice(msgInternal)
		return
	}
	if ok, err := ch.SendRequest("shell", true, nil); err != nil || !ok {
		record(&audit.Facts{Outcome: audit.Failed, Reason: fmt.Sprintf("shell refused by the machine (%v)", err)})
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
	record(&audit.Facts{Outcome: audit.Opened, Kind: audit.Shell, Door: "web", From: src})
	live := &liveConn{candidate: candidate, warn: notice, close: func() { ws.Close(); ch.Close() }}
	defer g.track(live)()

	done := make(chan bool, 1) // true: the browser left
	go func() {                // the machine's output, to the browser and the recording
		left := false
		defer func() { done <- left }()
		buf := make([]byte, 32<<10)
		for {
			n, err := ch.Read(buf)
			if n > 0 {
				_, _ = rec.Write(buf[:n])
				sendMu.Lock()
				serr := websocket.Message.Send(ws, buf[:n])
				sendMu.Unlock()
				if serr != nil {
					left = true
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	go func() { // what the candidate types and the size, to the machine
		defer ch.Close()
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
				if _, err := io.WriteString(ch, msg.Input); err != nil {
					return
				}
			}
			if msg.Cols > 0 && msg.Rows > 0 {
				c, r := clampSize(msg.Cols, msg.Rows)
				_, _ = ch.SendRequest("window-change", false, ssh.Marshal(windowChange{Cols: uint32(c), Rows: uint32(r)}))
				rec.resize(c, r)
			}
		}
	}()
	if <-done {
		ch.Close() // the shell ends; else the machine closes the channel after its exit status
	}
	status := -1
	select {
	case status = <-exited:
	case <-time.After(10 * time.Second): // a machine that does not answer (frozen): the status stays unknown
		ch.Close()
	}
	record(audit.Exit(status))
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
