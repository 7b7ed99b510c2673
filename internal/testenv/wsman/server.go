// Package wsman is a WS-Management (WinRM) server for tests that speaks the
// protocol the way a Windows machine does, so the winrm probe is tested against
// real SOAP exchanges rather than mocks of its own client.
//
// What it implements, as Windows Remote Shell (winrs) does:
//
//   - HTTPS on /wsman (httptest TLS; its CA is in Server.CACertPEM), requests
//     that must be `application/soap+xml` SOAP 1.2 envelopes with the
//     WS-Addressing and WS-Management headers (Action, MessageID, ResourceURI,
//     SelectorSet, OperationTimeout, MaxEnvelopeSize); responses carry the
//     response action and RelatesTo; errors are SOAP faults with the WSManFault
//     codes Windows uses (HTTP 500).
//   - Create (a shell, answered with x:ResourceCreated and an rsp:Shell body),
//     Command (rsp:CommandId), Send (base64 stdin, End="true" on the last chunk),
//     Receive (base64 stdout/stderr streams, split to fit MaxEnvelopeSize, then
//     CommandState Done with the ExitCode; a Receive waits up to the request's
//     OperationTimeout and then answers the w:TimedOut fault, as Windows does),
//     Signal (terminate, ctrl_c) and Delete. At most 30 open shells per server
//     (MaxShellsPerUser), requests up to 500 KB (MaxEnvelopeSizekb).
//   - Authentication: Basic and Negotiate/NTLM (NTLMv2 verified against the
//     configured password; the NTLM context is bound to the TCP connection, as
//     with HTTP.sys). A failure is a bare 401, like Windows.
//
// The command a client runs is answered by Config.Handler, which receives the
// command line and the whole stdin once the client has sent its last chunk, and
// returns stdout, stderr and an exit code (for example recorded PowerShell
// output). Config.Latency delays requests; Stats counts shells, commands and
// every request so a test can prove how a client used the protocol.
package wsman

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Auth selects the authentication schemes a server accepts.
type Auth int

// Authentication schemes.
const (
	AuthNTLM  Auth = 1 << iota // Negotiate (NTLM inside), enabled on every Windows
	AuthBasic                  // Basic (winrm set winrm/config/service/auth @{Basic="true"})
)

// Command is one command a client started, handed to the Handler once its stdin
// is complete.
type Command struct {
	ShellID   string
	CommandID string
	Command   string   // rsp:Command, e.g. "powershell.exe"
	Arguments []string // rsp:Arguments
	Stdin     []byte   // everything the client sent on stdin
	User      string   // the authenticated user
	Codepage  string   // the shell's WINRS_CODEPAGE option (65001 = UTF-8)
}

// CommandLine is the command and its arguments joined by spaces, as winrs runs it.
func (c Command) CommandLine() string {
	return strings.Join(append([]string{c.Command}, c.Arguments...), " ")
}

// Result is what a command printed and how it ended.
type Result struct {
	Stdout   []byte
	Stderr   []byte
	ExitCode int
}

// Handler runs a command. ctx ends when the client terminates the command or
// deletes its shell, or the server closes.
type Handler func(ctx context.Context, cmd Command) Result

// Config describes the machine the server stands for.
type Config struct {
	User     string // account name, "user", "DOMAIN\user" or "user@domain"
	Password string
	Domain   string // NetBIOS domain announced in NTLM challenges (default "TAILAB")
	Computer string // NetBIOS computer name (default "WIN-CLIENT01")
	Auth     Auth   // default AuthNTLM|AuthBasic
	Handler  Handler
	// Latency, when set, delays each authenticated request by the duration it
	// returns for the request's action (ActionCreate, ActionReceive, ...).
	Latency func(action string) time.Duration
	// MaxOperationTimeout caps how long a Receive waits for output (default: the
	// request's OperationTimeout).
	MaxOperationTimeout time.Duration
	// Addr is where to listen, "host:port" (default 127.0.0.1 on a free port):
	// a fixed address lets a test bring the machine back where a client waits.
	Addr string
}

// Stats counts what clients did.
type Stats struct {
	Shells, Commands, Sends, Receives, Signals, Deletes int // successful operations
	OpenShells                                          int // created and not deleted
	Requests                                            int // SOAP requests that passed authentication
	AuthFailures                                        int // 401 answers to a wrong user or password
	Handshakes                                          int // successful NTLM handshakes (one per connection)
	Faults                                              int // SOAP faults answered
	StdinBytes                                          int
}

// Server is a running WS-Management test server.
type Server struct {
	// URL is the endpoint, https://127.0.0.1:port/wsman.
	URL string
	// Host and Port are where it listens.
	Host string
	Port int
	// CACertPEM is the certificate clients must trust (self-signed by httptest).
	CACertPEM []byte
	// CertSHA256 is the SHA-256 of that certificate's DER encoding, in
	// lower-case hexadecimal: the pin a client trusting it on first use keeps.
	CertSHA256 string

	cfg  Config
	id   ntlmIdentity
	ts   *httptest.Server
	ctx  context.Context
	stop context.CancelFunc

	mu     sync.Mutex
	stats  Stats
	shells map[string]*shell
}

type connKey struct{}

// conn is the per-connection authentication state.
type conn struct {
	mu        sync.Mutex
	challenge *ntlmChallenge
	user      string // set once NTLM succeeded on this connection
}

// Start starts a server and stops it when the test ends.
func Start(t testing.TB, cfg Config) *Server {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("wsman: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// New starts a server; Close stops it.
func New(cfg Config) (*Server, error) {
	if cfg.Domain == "" {
		cfg.Domain = "TAILAB"
	}
	if cfg.Computer == "" {
		cfg.Computer = "WIN-CLIENT01"
	}
	if cfg.Auth == 0 {
		cfg.Auth = AuthNTLM | AuthBasic
	}
	if cfg.Handler == nil {
		cfg.Handler = func(context.Context, Command) Result { return Result{} }
	}
	s := &Server{
		cfg:    cfg,
		id:     ntlmIdentity{domain: cfg.Domain, computer: cfg.Computer, dnsDomain: strings.ToLower(cfg.Domain) + ".lan"},
		shells: map[string]*shell{},
	}
	s.ctx, s.stop = context.WithCancel(context.Background())
	s.ts = httptest.NewUnstartedServer(s)
	s.ts.Config.ErrorLog = log.New(io.Discard, "", 0) // refused TLS handshakes are expected in tests
	s.ts.Config.ConnContext = func(ctx context.Context, _ net.Conn) context.Context {
		return context.WithValue(ctx, connKey{}, &conn{})
	}
	if cfg.Addr != "" {
		ln, err := net.Listen("tcp", cfg.Addr)
		if err != nil {
			return nil, fmt.Errorf("listen %s: %w", cfg.Addr, err)
		}
		s.ts.Listener.Close()
		s.ts.Listener = ln
	}
	s.ts.StartTLS()
	s.URL = s.ts.URL + "/wsman"
	host, port, err := net.SplitHostPort(s.ts.Listener.Addr().String())
	if err != nil {
		s.ts.Close()
		return nil, err
	}
	s.Host = host
	s.Port, _ = strconv.Atoi(port)
	s.CACertPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.ts.Certificate().Raw})
	sum := sha256.Sum256(s.ts.Certificate().Raw)
	s.CertSHA256 = hex.EncodeToString(sum[:])
	return s, nil
}

// Close stops the server, ending running commands.
func (s *Server) Close() {
	s.stop()
	s.ts.CloseClientConnections()
	s.ts.Close()
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

func (s *Server) count(f func(*Stats)) {
	s.mu.Lock()
	f(&s.stats)
	s.mu.Unlock()
}

// maxRequest is Windows' default MaxEnvelopeSizekb (500 KB).
const maxRequest = 500 * 1024

// ServeHTTP authenticates and dispatches one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/wsman" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	user, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequest+1))
	if err != nil {
		return
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/soap+xml") {
		w.WriteHeader(http.StatusUnsupportedMediaType)
		return
	}
	if len(body) > maxRequest {
		s.fault(w, "", faultEnvelopeSize)
		return
	}
	s.count(func(st *Stats) { st.Requests++ })
	env, err := parseEnvelope(body)
	if err != nil {
		s.fault(w, "", faultBadRequest(err.Error()))
		return
	}
	if s.cfg.Latency != nil {
		if d := s.cfg.Latency(env.Header.Action); d > 0 {
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
	}
	s.dispatch(w, r, env, user)
}

// authenticate checks Basic credentials or runs the NTLM handshake; it answers
// 401 itself and reports false when the request may not proceed.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (string, bool) {
	c, _ := r.Context().Value(connKey{}).(*conn)
	if c == nil {
		c = &conn{}
	}
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	switch {
	case scheme == "" && c.authenticatedUser() != "":
		return c.authenticatedUser(), true
	case strings.EqualFold(scheme, "Basic") && s.cfg.Auth&AuthBasic != 0:
		u, p, ok := r.BasicAuth()
		if ok && sameUser(splitUserForCheck(u), domainOf(u), s.cfg.User, s.id) && p == s.cfg.Password {
			return u, true
		}
		s.count(func(st *Stats) { st.AuthFailures++ })
	case (strings.EqualFold(scheme, "Negotiate") || strings.EqualFold(scheme, "NTLM")) && s.cfg.Auth&AuthNTLM != 0:
		msg, err := base64.StdEncoding.DecodeString(strings.TrimSpace(token))
		if err != nil {
			break
		}
		typ, err := ntlmMessageType(msg)
		if err != nil {
			break
		}
		switch typ {
		case 1:
			ch, out, err := newChallenge(msg, s.id)
			if err != nil {
				break
			}
			c.mu.Lock()
			c.challenge, c.user = ch, ""
			c.mu.Unlock()
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("WWW-Authenticate", scheme+" "+base64.StdEncoding.EncodeToString(out))
			w.Header().Set("Content-Length", "0")
			w.WriteHeader(http.StatusUnauthorized)
			return "", false
		case 3:
			c.mu.Lock()
			ch := c.challenge
			c.challenge = nil
			c.mu.Unlock()
			if ch == nil {
				break // an AUTHENTICATE on a connection that got no challenge
			}
			who, err := ch.verify(msg, s.cfg.User, s.cfg.Password, s.id)
			if err != nil {
				s.count(func(st *Stats) { st.AuthFailures++ })
				break
			}
			c.mu.Lock()
			c.user = who.User
			c.mu.Unlock()
			s.count(func(st *Stats) { st.Handshakes++ })
			return who.User, true
		}
	}
	s.challengeHeaders(w)
	_, _ = io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusUnauthorized)
	return "", false
}

func (s *Server) challengeHeaders(w http.ResponseWriter) {
	if s.cfg.Auth&AuthNTLM != 0 {
		w.Header().Add("WWW-Authenticate", "Negotiate")
	}
	if s.cfg.Auth&AuthBasic != 0 {
		w.Header().Add("WWW-Authenticate", `Basic realm="WSMAN"`)
	}
}

func (c *conn) authenticatedUser() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.user
}

func splitUserForCheck(u string) string { user, _ := splitUser(u); return user }

func domainOf(u string) string { _, d := splitUser(u); return d }

func parseEnvelope(body []byte) (*envelope, error) {
	var env envelope
	if err := xmlUnmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("the request is not a SOAP 1.2 envelope: %w", err)
	}
	if env.Header.Action == "" || env.Header.MessageID == "" {
		return nil, errors.New("the request has no wsa:Action or wsa:MessageID header")
	}
	return &env, nil
}

func (s *Server) fault(w http.ResponseWriter, relatesTo string, f Fault) {
	s.count(func(st *Stats) { st.Faults++ })
	writeFault(w, s.cfg.Computer, relatesTo, f)
}
