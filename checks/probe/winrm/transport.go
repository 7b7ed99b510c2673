package winrm

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/go-ntlmssp"
	mzwinrm "github.com/masterzen/winrm"
	"github.com/masterzen/winrm/soap"

	"github.com/tailab/tailab/internal/tlspin"
)

// ErrAuth marks an authentication failure (HTTP 401).
var ErrAuth = errors.New("authentication failed (HTTP 401): wrong user or password, or the scheme is not enabled on the machine")

// session is one machine's WinRM conversation: every request goes, one at a
// time, through one HTTP client (so, with keep-alive, one TCP connection and one
// NTLM handshake).
type session struct {
	url      string
	client   *http.Client
	user     string
	password string // revealed from secret.Value only to set the request's credentials
	params   mzwinrm.Parameters
	reqLimit time.Duration // per-request deadline beyond the operation timeout
}

// newSession prepares the HTTP client: TLS verification (tlsConfig); NTLM
// through go-ntlmssp's Negotiator (as masterzen/winrm's ClientNTLM does) or
// preemptive Basic.
func newSession(url, user, password, pin string, p *WinRM) (*session, error) {
	tlsConf, err := tlsConfig(p, pin)
	if err != nil {
		return nil, err
	}
	var rt http.RoundTripper = &http.Transport{
		Proxy:               nil, // the management network is reached directly
		DialContext:         (&net.Dialer{Timeout: p.dialTimeout(), KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     tlsConf,
		TLSHandshakeTimeout: p.dialTimeout(),
		MaxConnsPerHost:     1,
		IdleConnTimeout:     90 * time.Second,
	}
	if p.auth() == AuthNTLM {
		rt = ntlmssp.Negotiator{RoundTripper: rt}
	}
	params := *mzwinrm.DefaultParameters
	params.EnvelopeSize = p.envelopeSize()
	if p.Locale != "" {
		params.Locale = p.Locale
	}
	return &session{url: url, client: &http.Client{Transport: rt}, user: user, password: password,
		params: params, reqLimit: p.requestTimeout()}, nil
}

func (s *session) close() { s.client.CloseIdleConnections() }

// tlsConfig is how the machine's certificate is checked, the first rule that
// applies winning:
//
//   - Insecure: not at all (an explicit opt-in);
//   - a CA bundle (CACert, CAFile: a centre's own PKI): the chain and the name;
//   - a pin (the target's TLSPin, recorded by `tailab up`): the leaf
//     certificate's SHA-256 must be the pin, whoever signed it (lab machines
//     make themselves a self-signed certificate); a mismatch is a *tlspin.MismatchError;
//   - otherwise the system roots and the name.
func tlsConfig(p *WinRM, pin string) (*tls.Config, error) {
	conf := &tls.Config{ServerName: p.TLSServerName, MinVersion: tls.VersionTLS12}
	switch {
	case p.Insecure:
		conf.InsecureSkipVerify = true //nolint:gosec // opt-in
	case len(p.CACert) > 0:
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(p.CACert) {
			return nil, errors.New("the WinRM CA bundle holds no PEM certificate")
		}
		conf.RootCAs = pool
	case pin != "":
		tlspin.Trust(conf, pin)
	}
	return conf, nil
}

// faultError is a SOAP fault from the service.
type faultError struct {
	Subcode, Code, Message string
}

func (f *faultError) Error() string {
	msg := strings.TrimSpace(f.Message)
	if f.Code != "" {
		return fmt.Sprintf("WS-Management fault %s (%s): %s", f.Subcode, f.Code, msg)
	}
	return fmt.Sprintf("WS-Management fault %s: %s", f.Subcode, msg)
}

func (f *faultError) timedOut() bool { return strings.HasSuffix(f.Subcode, ":TimedOut") }

// post sends one SOAP message with its own deadline (opTimeout plus the request
// margin, within ctx) and returns the response body.
func (s *session) post(ctx context.Context, msg *soap.SoapMessage, opTimeout time.Duration) (string, error) {
	defer msg.Free()
	rctx, cancel := context.WithTimeout(ctx, opTimeout+s.reqLimit)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, s.url, strings.NewReader(msg.String()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/soap+xml;charset=UTF-8")
	req.SetBasicAuth(s.user, s.password)
	resp, err := s.client.Do(req)
	if err != nil {
		if ctx.Err() == nil && rctx.Err() != nil {
			return "", fmt.Errorf("no answer within %s: %w", opTimeout+s.reqLimit, context.DeadlineExceeded)
		}
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return "", fmt.Errorf("reading the response: %w", err)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return "", ErrAuth
	case resp.StatusCode == http.StatusOK:
		return string(body), nil
	}
	if f := parseFault(body); f != nil {
		return "", f
	}
	return "", fmt.Errorf("HTTP %s", resp.Status)
}

// parseFault reads a SOAP fault body, or returns nil.
func parseFault(body []byte) *faultError {
	var env struct {
		Fault *struct {
			Subcode string `xml:"Code>Subcode>Value"`
			Reason  string `xml:"Reason>Text"`
			Detail  struct {
				WSManFault struct {
					Code    string `xml:"Code,attr"`
					Message string `xml:"Message"`
				} `xml:"WSManFault"`
			} `xml:"Detail"`
		} `xml:"Body>Fault"`
	}
	if xml.Unmarshal(body, &env) != nil || env.Fault == nil {
		return nil
	}
	f := &faultError{Subcode: env.Fault.Subcode, Code: env.Fault.Detail.WSManFault.Code, Message: env.Fault.Detail.WSManFault.Message}
	if f.Message == "" {
		f.Message = env.Fault.Reason
	}
	return f
}

// shortOp is the OperationTimeout of requests that do not wait for output.
const shortOp = 20 * time.Second

func (s *session) withTimeout(d time.Duration) *mzwinrm.Parameters {
	p := s.params
	p.Timeout = fmt.Sprintf("PT%.3fS", d.Seconds())
	return &p
}

func (s *session) createShell(ctx context.Context) (string, error) {
	body, err := s.post(ctx, mzwinrm.NewOpenShellRequest(s.url, s.withTimeout(shortOp)), shortOp)
	if err != nil {
		return "", fmt.Errorf("create shell: %w", err)
	}
	id, err := mzwinrm.ParseOpenShellResponse(body)
	if err != nil || id == "" {
		return "", fmt.Errorf("create shell: no ShellId in the response (%v)", err)
	}
	return id, nil
}

func (s *session) startCommand(ctx context.Context, shellID string) (string, error) {
	body, err := s.post(ctx, mzwinrm.NewExecuteCommandRequest(s.url, shellID, Command, Arguments, s.withTimeout(shortOp)), shortOp)
	if err != nil {
		return "", fmt.Errorf("start %s: %w", CommandLine, err)
	}
	id, err := mzwinrm.ParseExecuteCommandResponse(body)
	if err != nil || id == "" {
		return "", fmt.Errorf("start %s: no CommandId in the response (%v)", CommandLine, err)
	}
	return id, nil
}

// sendStdin sends data in chunks whose base64 fits the envelope, the last one
// marked End="true".
func (s *session) sendStdin(ctx context.Context, shellID, cmdID string, data []byte) error {
	chunk := (s.params.EnvelopeSize - 4096) * 3 / 4
	for first := true; first || len(data) > 0; first = false {
		n := min(chunk, len(data))
		eof := n == len(data)
		msg := mzwinrm.NewSendInputRequest(s.url, shellID, cmdID, data[:n], eof, s.withTimeout(shortOp))
		if _, err := s.post(ctx, msg, shortOp); err != nil {
			return fmt.Errorf("send stdin: %w", err)
		}
		data = data[n:]
	}
	return nil
}

// receive polls for output until the command is done. Each Receive waits up to
// opTimeout on the machine; a w:TimedOut fault only means "no output yet".
func (s *session) receive(ctx context.Context, shellID, cmdID string, opTimeout time.Duration) (stdout, stderr []byte, exit int, err error) {
	var out, errb bytes.Buffer
	for {
		wait := opTimeout
		if dl, ok := ctx.Deadline(); ok {
			if left := time.Until(dl); left < wait {
				wait = max(left, time.Second)
			}
		}
		body, err := s.post(ctx, mzwinrm.NewGetOutputRequest(s.url, shellID, cmdID, "stdout stderr", s.withTimeout(wait)), wait)
		var f *faultError
		if errors.As(err, &f) && f.timedOut() {
			if ctx.Err() != nil {
				return out.Bytes(), errb.Bytes(), 0, ctx.Err()
			}
			continue
		}
		if err != nil {
			return out.Bytes(), errb.Bytes(), 0, fmt.Errorf("receive output: %w", err)
		}
		done, code, err := mzwinrm.ParseSlurpOutputErrResponse(body, &out, &errb)
		if err != nil {
			return out.Bytes(), errb.Bytes(), 0, fmt.Errorf("receive output: %w", err)
		}
		if done {
			return out.Bytes(), errb.Bytes(), code, nil
		}
	}
}

// cleanup terminates the command and deletes the shell, even when ctx is over,
// so that no shell lingers on the candidate's machine (Windows allows 30 per
// user).
func (s *session) cleanup(ctx context.Context, shellID, cmdID string) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if cmdID != "" {
		_, _ = s.post(cctx, mzwinrm.NewSignalRequest(s.url, shellID, cmdID, s.withTimeout(5*time.Second)), 5*time.Second)
	}
	if shellID != "" {
		_, _ = s.post(cctx, mzwinrm.NewDeleteShellRequest(s.url, shellID, s.withTimeout(5*time.Second)), 5*time.Second)
	}
}
