package wsman

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/masterzen/winrm"
)

func echoHandler(_ context.Context, c Command) Result {
	return Result{
		Stdout:   []byte(c.CommandLine() + "\n" + strings.ToUpper(string(c.Stdin))),
		Stderr:   []byte("warn"),
		ExitCode: 3,
	}
}

func client(t *testing.T, s *Server, user, password string, ntlm bool) *winrm.Client {
	t.Helper()
	ep := &winrm.Endpoint{Host: s.Host, Port: s.Port, HTTPS: true, CACert: s.CACertPEM, Timeout: 10 * time.Second}
	params := *winrm.DefaultParameters
	if ntlm {
		params.TransportDecorator = func() winrm.Transporter { return &winrm.ClientNTLM{} }
	}
	c, err := winrm.NewClientWithParameters(ep, user, password, &params)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// run uses RunWithInput: this version's RunWithString sends the end of stdin
// only after the command has finished, which deadlocks any command that reads
// its stdin to the end (on Windows as here).
func run(t *testing.T, c *winrm.Client, command, stdin string) (string, string, int, error) {
	t.Helper()
	var out, errb bytes.Buffer
	code, err := c.RunWithInput(command, &out, &errb, strings.NewReader(stdin))
	return out.String(), errb.String(), code, err
}

// The server must interoperate with masterzen/winrm's own client, which runs
// Receive concurrently with Send.
//
// Only with Basic: with NTLM, this client's concurrent requests through
// go-ntlmssp's Negotiator sometimes leave the final Send hanging (the handshake
// of a third connection never completes), a client-side race the winrm probe
// avoids by sending its requests one at a time on one connection.
func TestMasterzenClientBasic(t *testing.T) {
	s := Start(t, Config{User: "Administrateur", Password: "P@ssw0rd-é", Auth: AuthBasic, Handler: echoHandler})
	stdout, stderr, code, err := run(t, client(t, s, "Administrateur", "P@ssw0rd-é", false), "powershell.exe -Command -", "hello wörld")
	if err != nil {
		t.Fatalf("%v; stats %+v", err, s.Stats())
	}
	if want := "powershell.exe -Command -\nHELLO WÖRLD"; stdout != want || stderr != "warn" || code != 3 {
		t.Fatalf("got %q %q %d, want %q warn 3", stdout, stderr, code, want)
	}
	if st := s.Stats(); st.Shells != 1 || st.Commands != 1 || st.OpenShells != 0 || st.Deletes != 1 || st.AuthFailures != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// NTLM with masterzen/winrm's NTLM transport (go-ntlmssp), one request at a
// time: the handshake happens once per connection, later requests ride on the
// authenticated connection.
func TestMasterzenClientNTLM(t *testing.T) {
	for _, tc := range []struct{ name, user string }{
		{"plain", "Administrateur"},
		{"domain", `TAILAB\Administrateur`},
		{"computer", `WIN-CLIENT01\administrateur`},
		{"upn", "administrateur@tailab.lan"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Start(t, Config{User: "Administrateur", Password: "P@ssw0rd-é"})
			c := client(t, s, tc.user, "P@ssw0rd-é", true)
			for i := 0; i < 3; i++ {
				sh, err := c.CreateShell()
				if err != nil {
					t.Fatalf("%v; stats %+v", err, s.Stats())
				}
				if err := sh.Close(); err != nil {
					t.Fatal(err)
				}
			}
			st := s.Stats()
			if st.Shells != 3 || st.OpenShells != 0 || st.AuthFailures != 0 || st.Handshakes != 1 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

func TestWrongPassword(t *testing.T) {
	for _, ntlm := range []bool{false, true} {
		s := Start(t, Config{User: "Administrateur", Password: "right", Handler: echoHandler})
		_, err := client(t, s, "Administrateur", "wrong", ntlm).CreateShell()
		if err == nil || !strings.Contains(err.Error(), "401") {
			t.Fatalf("ntlm=%v: err = %v, want a 401", ntlm, err)
		}
		if st := s.Stats(); st.Shells != 0 || st.AuthFailures == 0 {
			t.Fatalf("ntlm=%v: stats %+v", ntlm, st)
		}
	}
}

func TestWrongUser(t *testing.T) {
	s := Start(t, Config{User: "Administrateur", Password: "right"})
	if _, err := client(t, s, "Invité", "right", true).CreateShell(); err == nil {
		t.Fatal("an unknown user got a shell")
	}
}

func TestFaultsAndTimeouts(t *testing.T) {
	block := make(chan struct{})
	s := Start(t, Config{User: "u", Password: "pw1", MaxOperationTimeout: 200 * time.Millisecond,
		Handler: func(ctx context.Context, c Command) Result {
			select {
			case <-block:
			case <-ctx.Done():
			}
			return Result{}
		}})
	defer close(block)
	// A Receive on a command that never ends answers w:TimedOut after the
	// operation timeout, as Windows does.
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConfig(t, s)}}
	post := func(msg string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, s.URL, strings.NewReader(msg))
		req.Header.Set("Content-Type", "application/soap+xml;charset=UTF-8")
		req.SetBasicAuth("u", "pw1")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := post(winrm.NewOpenShellRequest(s.URL, nil).String())
	shellID, err := winrm.ParseOpenShellResponse(body)
	if code != 200 || err != nil || shellID == "" || !strings.Contains(body, "<rsp:ShellId>"+shellID) {
		t.Fatalf("create: %d %s %v", code, body, err)
	}
	cmdReq := winrm.NewExecuteCommandRequest(s.URL, shellID, "powershell.exe", nil, nil)
	code, body = post(cmdReq.String())
	cmdID, err := winrm.ParseExecuteCommandResponse(body)
	if code != 200 || err != nil || cmdID == "" {
		t.Fatalf("command: %d %s %v", code, body, err)
	}
	post(winrm.NewSendInputRequest(s.URL, shellID, cmdID, []byte("x"), true, nil).String())
	code, body = post(winrm.NewGetOutputRequest(s.URL, shellID, cmdID, "stdout stderr", nil).String())
	if code != 500 || !strings.Contains(body, "w:TimedOut") || !strings.Contains(body, "2150858793") {
		t.Fatalf("receive: %d %s", code, body)
	}
	code, body = post(winrm.NewGetOutputRequest(s.URL, "NOPE", cmdID, "stdout stderr", nil).String())
	if code != 500 || !strings.Contains(body, "w:InvalidSelectors") {
		t.Fatalf("unknown shell: %d %s", code, body)
	}
	code, _ = post(winrm.NewSignalRequest(s.URL, shellID, cmdID, nil).String())
	if code != 200 {
		t.Fatalf("signal: %d", code)
	}
	if code, body = post(winrm.NewDeleteShellRequest(s.URL, shellID, nil).String()); code != 200 {
		t.Fatalf("delete: %d %s", code, body)
	}
	if st := s.Stats(); st.OpenShells != 0 || st.Signals != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestOutputSplitToEnvelope(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 40000) // 640 KB, several Receives
	s := Start(t, Config{User: "u", Password: "pw1", Handler: func(context.Context, Command) Result {
		return Result{Stdout: big}
	}})
	out, _, code, err := run(t, client(t, s, "u", "pw1", false), "cmd", "x")
	if err != nil || code != 0 || out != string(big) {
		t.Fatalf("len %d code %d err %v", len(out), code, err)
	}
	if st := s.Stats(); st.Receives < 5 {
		t.Fatalf("output not split: %+v", st)
	}
}

func TestXSDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"PT60S": time.Minute, "PT5M0S": 5 * time.Minute, "PT1.500S": 1500 * time.Millisecond,
		"P1DT1H": 25 * time.Hour, "PT20.000S": 20 * time.Second,
	} {
		if got, ok := parseXSDuration(in); !ok || got != want {
			t.Errorf("%s: %v %v", in, got, ok)
		}
	}
	for _, in := range []string{"", "60", "PT", "PTxS"} {
		if d, ok := parseXSDuration(in); ok && d != 0 {
			t.Errorf("%q parsed as %v", in, d)
		}
	}
}

func tlsConfig(t *testing.T, s *Server) *tls.Config {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(s.CACertPEM) {
		t.Fatal("bad CA")
	}
	return &tls.Config{RootCAs: pool}
}

// The server listens where Config.Addr says and publishes the SHA-256 of the
// certificate it presents.
func TestAddrAndCertSHA256(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := Start(t, Config{User: "u", Password: "p", Addr: addr})
	if got := net.JoinHostPort(s.Host, strconv.Itoa(s.Port)); got != addr || s.URL != "https://"+addr+"/wsman" {
		t.Fatalf("listens on %s (%s), want %s", got, s.URL, addr)
	}
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // reading the certificate
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	sum := sha256.Sum256(conn.ConnectionState().PeerCertificates[0].Raw)
	if got := hex.EncodeToString(sum[:]); got != s.CertSHA256 || len(got) != 64 {
		t.Fatalf("presented %s, CertSHA256 %q", got, s.CertSHA256)
	}
	if _, err := New(Config{Addr: addr}); err == nil {
		t.Fatal("a second server on the same address started")
	}
}
