package wsman

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

type shell struct {
	id       string
	owner    string
	codepage string
	created  time.Time
	commands map[string]*command
}

type command struct {
	Command
	mu       sync.Mutex
	stdin    bytes.Buffer
	started  bool
	done     chan struct{} // closed when the handler returned or the command was terminated
	result   Result
	sentOut  int // bytes of stdout already received by the client
	sentErr  int
	finished bool // Done already reported
	cancel   context.CancelFunc
}

func xmlUnmarshal(b []byte, v any) error { return xml.Unmarshal(b, v) }

func (s *Server) dispatch(w http.ResponseWriter, r *http.Request, env *envelope, user string) {
	msgID := env.Header.MessageID
	if env.Header.ResourceURI != ShellURI {
		s.fault(w, msgID, Fault{"s:Sender", "w:DestinationUnreachable", 2150858770,
			"The WS-Management service cannot process the request. The resource URI " + env.Header.ResourceURI + " was not found. "})
		return
	}
	switch env.Header.Action {
	case ActionCreate:
		s.create(w, r, env, user)
	case ActionCommand:
		s.command(w, env)
	case ActionSend:
		s.send(w, env)
	case ActionReceive:
		s.receive(w, r, env)
	case ActionSignal:
		s.signal(w, env)
	case ActionDelete:
		s.delete(w, env)
	default:
		s.fault(w, msgID, faultAction(env.Header.Action))
	}
}

func (s *Server) create(w http.ResponseWriter, r *http.Request, env *envelope, user string) {
	if env.Body.Shell == nil {
		s.fault(w, env.Header.MessageID, faultBadRequest("The Create request has no rsp:Shell body. "))
		return
	}
	id := strings.ToUpper(uuid.NewString())
	s.mu.Lock()
	if len(s.shells) >= 30 {
		s.mu.Unlock()
		s.fault(w, env.Header.MessageID, faultQuota)
		return
	}
	sh := &shell{id: id, owner: user, codepage: env.option("WINRS_CODEPAGE"), created: time.Now(), commands: map[string]*command{}}
	s.shells[id] = sh
	s.stats.Shells++
	s.stats.OpenShells++
	s.mu.Unlock()

	in, out := "stdin", "stdout stderr"
	if env.Body.Shell.InputStreams != "" {
		in = env.Body.Shell.InputStreams
	}
	if env.Body.Shell.OutputStreams != "" {
		out = env.Body.Shell.OutputStreams
	}
	clientIP, _, _ := strings.Cut(r.RemoteAddr, ":")
	body := `<x:ResourceCreated><a:Address>` + xmlEscape(env.Header.To) + `</a:Address><a:ReferenceParameters>` +
		`<w:ResourceURI>` + ShellURI + `</w:ResourceURI><w:SelectorSet><w:Selector Name="ShellId">` + id +
		`</w:Selector></w:SelectorSet></a:ReferenceParameters></x:ResourceCreated>` +
		`<rsp:Shell xmlns:rsp="` + nsShell + `"><rsp:ShellId>` + id + `</rsp:ShellId><rsp:ResourceUri>` + ShellURI +
		`</rsp:ResourceUri><rsp:Owner>` + xmlEscape(user) + `</rsp:Owner><rsp:ClientIP>` + xmlEscape(clientIP) +
		`</rsp:ClientIP><rsp:IdleTimeOut>PT7200.000S</rsp:IdleTimeOut><rsp:InputStreams>` + xmlEscape(in) +
		`</rsp:InputStreams><rsp:OutputStreams>` + xmlEscape(out) + `</rsp:OutputStreams>` +
		`<rsp:ShellRunTime>P0DT0H0M0S</rsp:ShellRunTime><rsp:ShellInactivity>P0DT0H0M0S</rsp:ShellInactivity></rsp:Shell>`
	reply(w, http.StatusOK, "http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse", env.Header.MessageID, body)
}

// lookup returns the shell a request selects, answering the fault itself.
func (s *Server) lookup(w http.ResponseWriter, env *envelope) *shell {
	id := env.selector("ShellId")
	s.mu.Lock()
	sh := s.shells[id]
	s.mu.Unlock()
	if sh == nil {
		s.fault(w, env.Header.MessageID, faultShellNotFound(id))
	}
	return sh
}

func (s *Server) lookupCommand(w http.ResponseWriter, env *envelope, sh *shell, id string) *command {
	s.mu.Lock()
	c := sh.commands[id]
	s.mu.Unlock()
	if c == nil {
		s.fault(w, env.Header.MessageID, faultCommandNotFound(id))
	}
	return c
}

func (s *Server) command(w http.ResponseWriter, env *envelope) {
	sh := s.lookup(w, env)
	if sh == nil {
		return
	}
	cl := env.Body.CommandLine
	if cl == nil || strings.TrimSpace(cl.Command) == "" {
		s.fault(w, env.Header.MessageID, faultBadRequest("The Command request has no rsp:CommandLine/rsp:Command. "))
		return
	}
	id := strings.ToUpper(uuid.NewString())
	c := &command{Command: Command{
		ShellID: sh.id, CommandID: id, Command: strings.TrimSpace(cl.Command), Arguments: cl.Arguments,
		User: sh.owner, Codepage: sh.codepage,
	}, done: make(chan struct{})}
	s.mu.Lock()
	sh.commands[id] = c
	s.stats.Commands++
	s.mu.Unlock()
	reply(w, http.StatusOK, "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandResponse", env.Header.MessageID,
		`<rsp:CommandResponse><rsp:CommandId>`+id+`</rsp:CommandId></rsp:CommandResponse>`)
}

func (s *Server) send(w http.ResponseWriter, env *envelope) {
	sh := s.lookup(w, env)
	if sh == nil {
		return
	}
	if env.Body.Send == nil || len(env.Body.Send.Streams) == 0 {
		s.fault(w, env.Header.MessageID, faultBadRequest("The Send request has no rsp:Stream. "))
		return
	}
	for _, st := range env.Body.Send.Streams {
		c := s.lookupCommand(w, env, sh, st.CommandID)
		if c == nil {
			return
		}
		data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(st.Data))
		if err != nil {
			s.fault(w, env.Header.MessageID, faultBadRequest("The stdin stream is not valid base64. "))
			return
		}
		c.mu.Lock()
		if c.started {
			c.mu.Unlock()
			s.fault(w, env.Header.MessageID, Fault{"s:Sender", "w:InvalidParameter", 2150858752,
				"The stdin stream of the command is already closed. "})
			return
		}
		c.stdin.Write(data)
		end := st.End == "true" || st.End == "1"
		if end {
			c.started = true
			c.Stdin = append([]byte(nil), c.stdin.Bytes()...)
		}
		c.mu.Unlock()
		s.count(func(x *Stats) { x.Sends++; x.StdinBytes += len(data) })
		if end {
			s.run(c)
		}
	}
	reply(w, http.StatusOK, "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/SendResponse", env.Header.MessageID,
		`<rsp:SendResponse/>`)
}

// run hands the command to the handler once its stdin is complete.
func (s *Server) run(c *command) {
	ctx, cancel := context.WithCancel(s.ctx)
	c.mu.Lock()
	c.cancel = cancel
	cmd := c.Command
	c.mu.Unlock()
	go func() {
		res := s.cfg.Handler(ctx, cmd)
		c.mu.Lock()
		select {
		case <-c.done: // terminated meanwhile
		default:
			c.result = res
			close(c.done)
		}
		c.mu.Unlock()
	}()
}

func (s *Server) receive(w http.ResponseWriter, r *http.Request, env *envelope) {
	sh := s.lookup(w, env)
	if sh == nil {
		return
	}
	if env.Body.Receive == nil {
		s.fault(w, env.Header.MessageID, faultBadRequest("The Receive request has no rsp:Receive body. "))
		return
	}
	id := env.Body.Receive.DesiredStream.CommandID
	c := s.lookupCommand(w, env, sh, id)
	if c == nil {
		return
	}
	wait := env.operationTimeout(60 * time.Second)
	if m := s.cfg.MaxOperationTimeout; m > 0 && wait > m {
		wait = m
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-c.done:
	case <-timer.C:
		s.fault(w, env.Header.MessageID, faultTimedOut)
		return
	case <-r.Context().Done():
		return
	}
	s.count(func(x *Stats) { x.Receives++ })

	// Split the output so that the response fits the client's MaxEnvelopeSize,
	// stdout first, as Windows streams it.
	limit := env.Header.MaxEnvelopeSize
	if limit <= 0 {
		limit = 153600
	}
	room := (limit - 2048) * 3 / 4
	if room < 1024 {
		room = 1024
	}
	c.mu.Lock()
	var streams strings.Builder
	addStream := func(name string, data []byte, sent *int) {
		for *sent < len(data) && room > 0 {
			n := min(len(data)-*sent, room)
			streams.WriteString(`<rsp:Stream Name="` + name + `" CommandId="` + id + `">` +
				base64.StdEncoding.EncodeToString(data[*sent:*sent+n]) + `</rsp:Stream>`)
			*sent += n
			room -= n
		}
	}
	addStream("stdout", c.result.Stdout, &c.sentOut)
	addStream("stderr", c.result.Stderr, &c.sentErr)
	state := `<rsp:CommandState CommandId="` + id + `" State="` + stateRunning + `"></rsp:CommandState>`
	if c.sentOut == len(c.result.Stdout) && c.sentErr == len(c.result.Stderr) {
		streams.WriteString(`<rsp:Stream Name="stdout" CommandId="` + id + `" End="true"></rsp:Stream>` +
			`<rsp:Stream Name="stderr" CommandId="` + id + `" End="true"></rsp:Stream>`)
		state = `<rsp:CommandState CommandId="` + id + `" State="` + stateDone + `"><rsp:ExitCode>` +
			strconv.Itoa(c.result.ExitCode) + `</rsp:ExitCode></rsp:CommandState>`
		c.finished = true
	}
	c.mu.Unlock()
	reply(w, http.StatusOK, "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/ReceiveResponse", env.Header.MessageID,
		`<rsp:ReceiveResponse>`+streams.String()+state+`</rsp:ReceiveResponse>`)
}

func (s *Server) signal(w http.ResponseWriter, env *envelope) {
	sh := s.lookup(w, env)
	if sh == nil {
		return
	}
	if env.Body.Signal == nil {
		s.fault(w, env.Header.MessageID, faultBadRequest("The Signal request has no rsp:Signal body. "))
		return
	}
	c := s.lookupCommand(w, env, sh, env.Body.Signal.CommandID)
	if c == nil {
		return
	}
	code := strings.TrimSpace(env.Body.Signal.Code)
	if code != signalTerm && code != signalCtrlC {
		s.fault(w, env.Header.MessageID, faultBadRequest("Unknown signal code "+code+". "))
		return
	}
	c.terminate()
	if code == signalTerm {
		s.mu.Lock()
		delete(sh.commands, c.CommandID)
		s.mu.Unlock()
	}
	s.count(func(x *Stats) { x.Signals++ })
	reply(w, http.StatusOK, "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/SignalResponse", env.Header.MessageID,
		`<rsp:SignalResponse/>`)
}

// terminate ends a running command (exit code 0xC000013A, STATUS_CONTROL_C_EXIT,
// as Windows reports a terminated process) or does nothing for a finished one.
func (c *command) terminate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cancel != nil {
		c.cancel()
	}
	select {
	case <-c.done:
	default:
		c.result = Result{ExitCode: -1073741510}
		close(c.done)
	}
}

func (s *Server) delete(w http.ResponseWriter, env *envelope) {
	sh := s.lookup(w, env)
	if sh == nil {
		return
	}
	s.mu.Lock()
	delete(s.shells, sh.id)
	cmds := make([]*command, 0, len(sh.commands))
	for _, c := range sh.commands {
		cmds = append(cmds, c)
	}
	s.stats.Deletes++
	s.stats.OpenShells--
	s.mu.Unlock()
	for _, c := range cmds {
		c.terminate()
	}
	reply(w, http.StatusOK, "http://schemas.xmlsoap.org/ws/2004/09/transfer/DeleteResponse", env.Header.MessageID, "")
}
