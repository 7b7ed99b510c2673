// Package http is the `http` probe: one HTTP(S) request to a lab machine's web
// service (intranet site, GLPI, NAS or printer admin page, a reverse proxy) and what
// came back: status, headers, body, and the TLS certificate.
//
// # Params
//
//	probe:
//	  type: http
//	  path: /glpi/status.php     # default /
//	  scheme: https              # http (default) or https
//	  port: 8443                 # default: the target's "http"/"https" port, else 80/443
//	  host: 10.0.0.8             # optional address to dial; default the machine's address
//	  vhost: intranet.lab.local  # optional name for the URL, Host header and TLS SNI
//	  method: GET                # default GET
//	  headers: {Accept: application/json}
//	  body: '{"x": 1}'           # optional request body
//	  auth: basic                # optional: HTTP basic auth with Target.Creds("http")
//	  follow_redirects: false    # default false: a 301/302 is itself the observation
//	  tls_verify: false          # default false: see below
//	  ca_file: /path/lab-ca.pem  # optional roots to verify against (default: system roots)
//	  timeout: 10s               # default 10s
//
// # Values
//
//   - status (int): the HTTP status code (0 when tls_verify refused the certificate)
//   - body (string): the response body, cut at 1 MiB; body_bytes (int) its full size read
//   - headers (map[string]string): response headers, keys in lower case, repeated
//     values joined with ", "
//   - url (string): the final URL; redirects ([]string): the Location URLs followed
//   - latency_ms (float): time to the response headers
//   - tls (map, https only): version ("TLS 1.3"), subject, issuer, dns_names
//     ([]string), not_before and not_after (RFC 3339), days_left (int), verified
//     (bool: the chain verifies against ca_file or the system roots for the name
//     asked), verify_error (string)
//
// A self-signed or expired certificate is an observation: with tls_verify false
// (default, lab services often use self-signed certificates) the request goes through
// and tls.verified says what the candidate's certificate is worth; with tls_verify true
// the request is not sent over an unverified connection and status is 0.
// Connection refused, no answer and timeouts are errors (Observation.Err).
//
// Requests of one Run share one client with keep-alive, so checks against the same
// site reuse one connection.
package http

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	nethttp "net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/internal/userfile"
	"github.com/tailab/tailab/internal/yamlx"
)

// Type is the probe's name in suites.
const Type = "http"

// DefaultTimeout bounds one request when neither the check nor the runner sets one.
const DefaultTimeout = 10 * time.Second

const (
	maxBody     = 1 << 20
	maxEvidence = 2048
)

// Params are one check's http probe parameters.
type Params struct {
	Method          string            `yaml:"method"`
	Scheme          string            `yaml:"scheme"`
	Host            string            `yaml:"host"`
	VHost           string            `yaml:"vhost"`
	Port            int               `yaml:"port"`
	Path            string            `yaml:"path"`
	Headers         map[string]string `yaml:"headers"`
	Body            string            `yaml:"body"`
	Auth            string            `yaml:"auth"`
	FollowRedirects bool              `yaml:"follow_redirects"`
	TLSVerify       bool              `yaml:"tls_verify"`
	CAFile          string            `yaml:"ca_file"`
	Timeout         time.Duration     `yaml:"timeout"`

	Positions yamlx.Positions `yaml:"-"`
}

// Validate checks the scheme, port, path, method and auth values.
func (p *Params) Validate(d *yamlx.Decoder, at yamlx.Pos, field string) {
	bad := func(key, format string, args ...any) {
		d.Diags.Add(p.Positions.Of(key, at), join(field, key), format, args...)
	}
	switch strings.ToLower(p.Scheme) {
	case "", "http", "https":
	default:
		bad("scheme", "scheme must be http or https, not %q", p.Scheme)
	}
	if p.Port < 0 || p.Port > 65535 {
		bad("port", "port %d out of range 1-65535", p.Port)
	}
	if p.Path != "" && !strings.HasPrefix(p.Path, "/") {
		bad("path", "path must start with / (got %q)", p.Path)
	}
	if p.Method != "" && strings.ContainsAny(p.Method, " \t/:") {
		bad("method", "invalid method %q", p.Method)
	}
	switch strings.ToLower(p.Auth) {
	case "", "basic":
	default:
		bad("auth", "auth must be basic (got %q)", p.Auth)
	}
	if p.Timeout < 0 {
		bad("timeout", "timeout must be positive")
	}
}

func join(field, key string) string { return probe.JoinField(field, key) }

// Probe is the http probe.
type Probe struct{}

var _ probe.Probe = (*Probe)(nil)

// New returns an http probe.
func New() *Probe { return &Probe{} }

// Type returns "http".
func (*Probe) Type() string { return Type }

// NewParams returns empty http parameters.
func (*Probe) NewParams() probe.Params { return &Params{} }

func timeoutOf(p *Params, r probe.Request) time.Duration {
	return probe.Timeout(p.Timeout, r, DefaultTimeout)
}

// run is the state of one Run: shared transports and the vhost → address map.
type run struct {
	target     probe.Target
	dialTo     map[string]string // "vhost:port" -> "address:port"
	transports map[string]*nethttp.Transport
}

// Run sends each request in turn, reusing connections.
func (p *Probe) Run(ctx context.Context, t probe.Target, reqs []probe.Request) ([]probe.Observation, error) {
	r := &run{target: t, dialTo: map[string]string{}, transports: map[string]*nethttp.Transport{}}
	defer func() {
		for _, tr := range r.transports {
			tr.CloseIdleConnections()
		}
	}()
	obs := make([]probe.Observation, len(reqs))
	for i, rq := range reqs {
		prm, ok := rq.Params.(*Params)
		if !ok || prm == nil {
			return nil, fmt.Errorf("http probe: request %q: params are %T, not *http.Params", rq.ID, rq.Params)
		}
		obs[i] = r.observe(ctx, rq, prm)
	}
	return obs, nil
}

// verifyError is a certificate refused under tls_verify, with the state to report.
type verifyError struct {
	state tls.ConnectionState
	err   error
}

func (e *verifyError) Error() string { return "certificate not trusted: " + e.err.Error() }

// transport returns the shared transport for one TLS setup.
func (r *run) transport(p *Params) (*nethttp.Transport, error) {
	key := fmt.Sprintf("%v|%s", p.TLSVerify, p.CAFile)
	if tr, ok := r.transports[key]; ok {
		return tr, nil
	}
	roots, err := loadRoots(p.CAFile)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{InsecureSkipVerify: true} //nolint:gosec // verified by hand below
	if p.TLSVerify {
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if err := verify(cs, roots); err != nil {
				return &verifyError{state: cs, err: err}
			}
			return nil
		}
	}
	var d net.Dialer
	tr := &nethttp.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if to, ok := r.dialTo[addr]; ok {
				addr = to
			}
			return d.DialContext(ctx, network, addr)
		},
		TLSClientConfig:     cfg,
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     30 * time.Second,
	}
	r.transports[key] = tr
	return tr, nil
}

func loadRoots(file string) (*x509.CertPool, error) {
	if file == "" {
		return x509.SystemCertPool()
	}
	pem, err := userfile.Read(file)
	if err != nil {
		return nil, fmt.Errorf("ca_file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("ca_file %s: no PEM certificate in it", file)
	}
	return pool, nil
}

// verify checks a server's chain against roots for the name it was asked for.
func verify(cs tls.ConnectionState, roots *x509.CertPool) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{DNSName: cs.ServerName, Roots: roots, Intermediates: inter})
	return err
}

func (r *run) observe(ctx context.Context, rq probe.Request, p *Params) probe.Observation {
	o := probe.Observation{ID: rq.ID}
	var ev strings.Builder
	fail := func(err error) probe.Observation {
		o.Err = err
		fmt.Fprintf(&ev, "! %v\n", err)
		o.Evidence = r.target.Masker.Mask(ev.String())
		return o
	}
	scheme := strings.ToLower(p.Scheme)
	if scheme == "" {
		scheme = "http"
	}
	def := map[string]int{"http": 80, "https": 443}[scheme]
	port := p.Port
	if port == 0 {
		port = r.target.Port(scheme, def)
	}
	dialHost := p.Host
	if dialHost == "" {
		dialHost = r.target.Address
	}
	urlHost := dialHost
	if p.VHost != "" {
		urlHost = p.VHost
		r.dialTo[net.JoinHostPort(urlHost, strconv.Itoa(port))] = net.JoinHostPort(dialHost, strconv.Itoa(port))
	}
	hostPort := net.JoinHostPort(urlHost, strconv.Itoa(port))
	if port == def {
		hostPort = urlHost
		if strings.Contains(urlHost, ":") {
			hostPort = "[" + urlHost + "]"
		}
	}
	path := p.Path
	if path == "" {
		path = "/"
	}
	u := scheme + "://" + hostPort + path
	method := strings.ToUpper(p.Method)
	if method == "" {
		method = nethttp.MethodGet
	}
	to := timeoutOf(p, rq)
	ctx, cancel := context.WithTimeout(ctx, to)
	defer cancel()
	var body io.Reader
	if p.Body != "" {
		body = strings.NewReader(p.Body)
	}
	req, err := nethttp.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return fail(fmt.Errorf("http request %s: %w", u, err))
	}
	req.Header.Set("User-Agent", "tailab-grader")
	for k, v := range p.Headers {
		if strings.EqualFold(k, "Host") {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	if strings.EqualFold(p.Auth, "basic") {
		c := r.target.Creds("http")
		req.SetBasicAuth(c.User, c.Password.Reveal())
	}
	fmt.Fprintf(&ev, "> %s %s\n", method, u)
	if req.Host != "" {
		fmt.Fprintf(&ev, "> Host: %s\n", req.Host)
	}
	for _, k := range slices.Sorted(maps.Keys(req.Header)) {
		v := strings.Join(req.Header[k], ", ")
		if k == "Authorization" {
			v = "****"
		}
		fmt.Fprintf(&ev, "> %s: %s\n", k, v)
	}
	tr, err := r.transport(p)
	if err != nil {
		return fail(fmt.Errorf("http %s: %w", u, err))
	}
	var redirects []string
	client := &nethttp.Client{Transport: tr, CheckRedirect: func(next *nethttp.Request, via []*nethttp.Request) error {
		if !p.FollowRedirects {
			return nethttp.ErrUseLastResponse
		}
		if len(via) >= 10 {
			return errors.New("more than 10 redirects")
		}
		redirects = append(redirects, next.URL.String())
		fmt.Fprintf(&ev, "> (redirect) %s %s\n", next.Method, next.URL)
		return nil
	}}
	start := time.Now()
	resp, err := client.Do(req)
	o.Duration = time.Since(start)
	if err != nil {
		var ve *verifyError
		if errors.As(err, &ve) {
			o.Values = map[string]any{"status": 0, "body": "", "body_bytes": 0, "headers": map[string]string{},
				"url": u, "redirects": nonNil(redirects), "latency_ms": ms(o.Duration), "tls": tlsValues(ve.state, ve.err)}
			fmt.Fprintf(&ev, "< TLS: %s\n! request not sent: %v\n", describeTLS(o.Values["tls"].(map[string]any)), ve)
			o.Evidence = r.target.Masker.Mask(ev.String())
			return o
		}
		if ctx.Err() != nil {
			err = fmt.Errorf("no response within %s: %w", to, err)
		}
		return fail(fmt.Errorf("http %s %s: %w", method, u, err))
	}
	defer resp.Body.Close()
	latency := o.Duration
	data, rerr := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	n := len(data)
	if n > maxBody {
		data = data[:maxBody]
		extra, _ := io.Copy(io.Discard, resp.Body)
		n += int(extra)
	}
	o.Duration = time.Since(start)
	if rerr != nil {
		return fail(fmt.Errorf("http %s %s: read body: %w", method, u, rerr))
	}
	headers := map[string]string{}
	fmt.Fprintf(&ev, "< %s %s (%.1f ms)\n", resp.Proto, resp.Status, ms(latency))
	for _, k := range slices.Sorted(maps.Keys(resp.Header)) {
		v := strings.Join(resp.Header[k], ", ")
		headers[strings.ToLower(k)] = v
		fmt.Fprintf(&ev, "< %s: %s\n", k, v)
	}
	o.Values = map[string]any{
		"status":     resp.StatusCode,
		"body":       string(data),
		"body_bytes": n,
		"headers":    headers,
		"url":        resp.Request.URL.String(),
		"redirects":  nonNil(redirects),
		"latency_ms": ms(latency),
	}
	if resp.TLS != nil {
		roots, _ := loadRoots(p.CAFile)
		tv := tlsValues(*resp.TLS, verify(*resp.TLS, roots))
		o.Values["tls"] = tv
		fmt.Fprintf(&ev, "< TLS: %s\n", describeTLS(tv))
	}
	shown := string(data)
	if len(shown) > maxEvidence {
		shown = shown[:maxEvidence] + fmt.Sprintf("\n(... %d bytes in all)", n)
	}
	if shown != "" {
		ev.WriteString("\n" + shown + "\n")
	}
	o.Evidence = r.target.Masker.Mask(ev.String())
	return o
}

func tlsValues(cs tls.ConnectionState, verr error) map[string]any {
	v := map[string]any{"version": tls.VersionName(cs.Version), "verified": verr == nil, "verify_error": ""}
	if verr != nil {
		v["verify_error"] = verr.Error()
	}
	if len(cs.PeerCertificates) > 0 {
		c := cs.PeerCertificates[0]
		v["subject"] = c.Subject.String()
		v["issuer"] = c.Issuer.String()
		v["dns_names"] = nonNil(c.DNSNames)
		v["not_before"] = c.NotBefore.UTC().Format(time.RFC3339)
		v["not_after"] = c.NotAfter.UTC().Format(time.RFC3339)
		v["days_left"] = int(time.Until(c.NotAfter).Hours() / 24)
	}
	return v
}

func describeTLS(v map[string]any) string {
	s := fmt.Sprintf("%s, subject %q, issuer %q, not after %v", v["version"], v["subject"], v["issuer"], v["not_after"])
	if v["verified"] == true {
		return s + ", verified"
	}
	return s + ", NOT verified: " + v["verify_error"].(string)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
