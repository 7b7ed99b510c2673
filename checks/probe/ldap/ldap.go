// Package ldap is the `ldap` probe: it searches a directory (Active Directory,
// Samba AD, OpenLDAP) over LDAPS or StartTLS with a simple bind, one connection per
// Run for the whole batch (its searches pipelined on it, up to Pipeline
// outstanding), and exposes what it found to `expect` matchers.
//
// # Parameters
//
//	tls: ldaps | starttls | none   # default ldaps (port 636); starttls/none use 389
//	port: 636                      # default: target port "ldaps"/"ldap", else 636/389
//	insecure_skip_verify: true     # lab DCs have self-signed certificates
//	ca_file: /path/ca.pem          # or verify against this CA
//	server_name: dc1.lab.local     # name to verify (default: the target address)
//	credentials: ldap              # which of the target's credentials bind (default
//	                               # "ldap", falling back to the default ones); the user
//	                               # is a UPN, a DN or DOMAIN\user; a bare name gets
//	                               # @Domain; no credentials: anonymous
//	base: OU=Paris                 # absolute DN, or relative to defaultNamingContext
//	                               # (read from the RootDSE); "" = the domain itself
//	scope: sub | one | base        # default sub
//	filter: (objectClass=user)     # default (objectClass=*)
//	attributes: [sAMAccountName]   # default: none beyond the DN
//	size_limit: 100                # 0 = server's limit
//	member_of_nested: CN=GG_Compta,OU=Groupes   # AND (memberOf:1.2.840.113556.1.4.1941:=DN),
//	                               # i.e. direct or nested members (AGDLP); relative DNs allowed
//	created_after: "2026-06-15T08:00:00Z"       # the exam start (RFC 3339): whenCreated compared
//	gpo_links: true                # parse gPLink, resolve the GPOs' display names
//	account_flags: true            # decode userAccountControl, pwdLastSet, lockout
//	agdlp: {account: jdupont, global: GG_Compta, domain_local: GL_Compta_RW}
//	                               # the AGDLP chain, exactly (sAMAccountNames)
//
// Connection parameters normally are the same for every check of a machine; checks
// with different ones are grouped, one connection per group.
//
// # Values
//
//	base         the resolved search base
//	base_exists  false when the base does not exist (noSuchObject: a fail, not an error)
//	count        number of entries
//	dns          the entries' DNs
//	entries      one map per entry: "dn" and each attribute → list of strings (under the
//	             name spelled as in `attributes`); objectGUID as 8-4-4-4-12 hex,
//	             objectSid as S-1-5-...; with account_flags the entry also has
//	             disabled, enabled, locked, password_never_expires, must_change_password
//	             (pwdLastSet=0) and uac_flags; with gpo_links, gpo_links: list of
//	             {guid, dn, name, enabled, enforced, disabled, settings_disabled,
//	             applies} (every link; applies = enabled and the GPO has settings
//	             on: its flags are not 3, "all settings disabled", and it exists)
//	truncated    true when the size limit cut the result
//	with created_after: created_after_count (entries created at or after the time),
//	             created_before (DNs of the others), all_created_after (bool)
//	with gpo_links: gpo_links (every link of every entry, as in an entry),
//	             linked_gpos (display names), linked_gpo_guids ({GUID}) of the
//	             links that APPLY only (a disabled link, or a GPO whose settings
//	             are all disabled, applies to no one),
//	             linked_gpos_disabled (names of the disabled links),
//	             linked_gpos_settings_disabled (enabled links to a GPO with all
//	             its settings disabled, or deleted),
//	             linked_gpos_enforced (enabled and enforced), over all entries, in
//	             link order
//	with agdlp:  agdlp (true when the account is a direct member of the global
//	             group, a global security group, itself a direct member of the
//	             domain-local group, a domain-local security group, and the account
//	             is NOT a direct member of the domain-local group), agdlp_missing
//	             (what breaks the chain, French: for the jury), agdlp_links
//	             (account_in_global, global_in_domain_local, account_in_domain_local,
//	             global_scope, domain_local_scope, account_dn, global_dn,
//	             domain_local_dn)
//	with account_flags and exactly one entry: disabled, enabled, locked,
//	             password_never_expires, must_change_password at the top level too
//
// Referrals (subtree searches of a domain return some) are ignored. Dial, TLS and
// bind failures are errors (status `error`), never fails. Evidence shows the bind
// identity, each search and a compact listing; the password never appears.
package ldap

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/internal/userfile"
)

// DefaultTimeout bounds a request that has none.
const DefaultTimeout = 15 * time.Second

// LDAP is the ldap probe.
type LDAP struct {
	// Dial opens TCP connections; nil means a net.Dialer. Tests count connections
	// through it; a deployment may route through a jump host.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

var _ probe.Probe = (*LDAP)(nil)

// New returns the probe.
func New() *LDAP { return &LDAP{} }

// Type implements probe.Probe.
func (*LDAP) Type() string { return "ldap" }

// NewParams implements probe.Probe.
func (*LDAP) NewParams() probe.Params { return &Params{} }

// Run implements probe.Probe: one connection (and one bind) per group of requests
// sharing connection parameters, normally one for the whole batch.
func (l *LDAP) Run(ctx context.Context, t probe.Target, reqs []probe.Request) ([]probe.Observation, error) {
	obs := make([]probe.Observation, len(reqs))
	var order []string
	groups := map[string][]int{}
	for i, r := range reqs {
		obs[i].ID = r.ID
		p, ok := r.Params.(*Params)
		if !ok {
			obs[i].Err = fmt.Errorf("ldap probe: params of type %T", r.Params)
			continue
		}
		k := p.connKey()
		if _, seen := groups[k]; !seen {
			order = append(order, k)
		}
		groups[k] = append(groups[k], i)
	}
	failed := 0
	var firstErr error
	for _, k := range order {
		idx := groups[k]
		if err := l.runGroup(ctx, t, reqs, idx, obs); err != nil {
			failed += len(idx)
			if firstErr == nil {
				firstErr = err
			}
		}
	}
	if failed == len(reqs) && firstErr != nil {
		return obs, firstErr
	}
	return obs, nil
}

// Pipeline is how many searches of a batch are outstanding at once on its one
// connection: the server works through them without waiting for the grader
// between two, and a loaded server is waited for once, not once per check.
const Pipeline = 8

// session is one bound connection; a batch's searches share it concurrently.
type session struct {
	conn   *goldap.Conn
	url    string
	bindAs string

	mu     sync.Mutex // guards the caches below
	baseDN string     // defaultNamingContext, read on demand
	gpos   map[string]gpoInfo
}

func (l *LDAP) runGroup(ctx context.Context, t probe.Target, reqs []probe.Request, idx []int, obs []probe.Observation) error {
	p0 := reqs[idx[0]].Params.(*Params)
	start := time.Now()
	timeout := DefaultTimeout
	if d := reqs[idx[0]].Timeout; d > 0 {
		timeout = d
	}
	s, err := l.open(ctx, t, p0, timeout)
	if err != nil {
		err = fmt.Errorf("ldap %s: %w", t.Address, err)
		for _, i := range idx {
			obs[i].Err = err
			obs[i].Evidence = t.Masker.Mask(err.Error())
			obs[i].Duration = time.Since(start)
		}
		return err
	}
	defer s.conn.Close()
	stop := context.AfterFunc(ctx, func() { s.conn.Close() })
	defer stop()
	// One response timeout for the connection (go-ldap has no per-request
	// one): the longest of the group's.
	d := time.Duration(0)
	for _, i := range idx {
		d = max(d, reqs[i].Timeout)
	}
	if d <= 0 {
		d = DefaultTimeout
	}
	s.conn.SetTimeout(d)
	probe.Each(len(idx), Pipeline, func(n int) {
		i := idx[n]
		began := time.Now()
		if n == 0 {
			began = start
		}
		values, evidence, err := s.search(reqs[i].Params.(*Params))
		if err != nil && ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", err, ctx.Err())
		}
		head := fmt.Sprintf("%s bind %s\n", s.url, s.bindAs)
		obs[i].Values = values
		obs[i].Evidence = t.Masker.Mask(head + evidence)
		obs[i].Duration = time.Since(began)
		if err != nil {
			obs[i].Err = fmt.Errorf("ldap %s: %w", t.Address, err)
		}
	})
	return nil
}

// open dials, sets up TLS, binds.
func (l *LDAP) open(ctx context.Context, t probe.Target, p *Params, timeout time.Duration) (*session, error) {
	mode := p.tlsMode()
	port := p.Port
	if port == 0 {
		if mode == TLSLDAPS {
			port = t.Port("ldaps", 636)
		} else {
			port = t.Port("ldap", 389)
		}
	}
	addr := net.JoinHostPort(t.Address, strconv.Itoa(port))
	scheme := "ldap"
	if mode == TLSLDAPS {
		scheme = "ldaps"
	}
	s := &session{url: scheme + "://" + addr, bindAs: "(anonymous)"}
	if mode == TLSStartTLS {
		s.url += " (StartTLS)"
	}

	var tlsConf *tls.Config
	if mode != TLSNone {
		var err error
		if tlsConf, err = tlsConfig(p, t.Address); err != nil {
			return nil, err
		}
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	dial := l.Dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	raw, err := dial(dctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	// Until the bind is done, the dial context bounds every exchange.
	stop := context.AfterFunc(dctx, func() { raw.Close() })
	defer stop()
	var conn *goldap.Conn
	if mode == TLSLDAPS {
		tc := tls.Client(raw, tlsConf)
		if err := tc.HandshakeContext(dctx); err != nil {
			raw.Close()
			return nil, fmt.Errorf("TLS handshake with %s%s: %w", addr, tlsHint(err), ctxErr(dctx, err))
		}
		conn = goldap.NewConn(tc, true)
	} else {
		conn = goldap.NewConn(raw, false)
	}
	conn.Start()
	conn.SetTimeout(timeout)
	if mode == TLSStartTLS {
		if err := conn.StartTLS(tlsConf); err != nil {
			conn.Close()
			return nil, fmt.Errorf("StartTLS with %s%s: %w", addr, tlsHint(err), ctxErr(dctx, err))
		}
	}
	c := t.Creds(p.credName())
	if p.Credentials != "" {
		if _, ok := t.Credentials[p.Credentials]; !ok {
			conn.Close()
			return nil, fmt.Errorf("no credentials named %q for machine %q", p.Credentials, t.Machine)
		}
	}
	if c.User != "" {
		s.bindAs = bindName(c.User, c.Domain)
		if err := conn.Bind(s.bindAs, c.Password.Reveal()); err != nil {
			conn.Close()
			return nil, fmt.Errorf("bind as %s%s: %w", s.bindAs, bindReason(err), ctxErr(dctx, err))
		}
	}
	s.conn = conn
	return s, nil
}

// tlsHint explains the certificate errors lab DCs cause.
func tlsHint(err error) string {
	if strings.Contains(err.Error(), "negative serial number") {
		return " (Samba certificate with a negative serial: the binary needs GODEBUG=x509negativeserial=1, set by go.mod)"
	}
	return ""
}

// adBindReasons are the "data NNN" codes of AD's invalid-credentials answers.
var adBindReasons = map[string]string{
	"525": "user not found", "52e": "wrong password", "530": "logon not permitted at this time",
	"531": "logon not permitted on this workstation", "532": "password expired",
	"533": "account disabled", "701": "account expired", "773": "user must change password",
	"775": "account locked out",
}

// bindReason explains an AD bind refusal, e.g. " (account locked out)".
func bindReason(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, ", data "); i >= 0 {
		code := strings.TrimSpace(strings.SplitN(msg[i+7:], ",", 2)[0])
		if r, ok := adBindReasons[code]; ok {
			return " (" + r + ")"
		}
	}
	return ""
}

func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%w)", err, ctx.Err())
	}
	return err
}

// bindName turns a bare user name into a UPN when a domain is known.
func bindName(user, domain string) string {
	if domain == "" || strings.ContainsAny(user, `@=\`) {
		return user
	}
	return user + "@" + domain
}

func tlsConfig(p *Params, address string) (*tls.Config, error) {
	c := &tls.Config{ServerName: p.ServerName, InsecureSkipVerify: p.InsecureSkipVerify, MinVersion: tls.VersionTLS12} //nolint:gosec // lab DCs use self-signed certificates, by choice of the suite
	if c.ServerName == "" {
		c.ServerName = address
	}
	if p.CAFile != "" {
		pem, err := userfile.Read(p.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s: no PEM certificate", p.CAFile)
		}
		// Samba's self-generated certificates name the host in the subject CN only,
		// which crypto/tls refuses: verify the chain ourselves, then the name
		// against the SANs, or the CN when there are none.
		name := c.ServerName
		c.InsecureSkipVerify = true //nolint:gosec // verified in VerifyConnection
		c.VerifyConnection = func(cs tls.ConnectionState) error { return verifyLegacy(cs, pool, name) }
	}
	return c, nil
}

func verifyLegacy(cs tls.ConnectionState, roots *x509.CertPool, name string) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("server sent no certificate")
	}
	leaf := cs.PeerCertificates[0]
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter}); err != nil {
		return fmt.Errorf("certificate: %w", err)
	}
	if len(leaf.DNSNames) > 0 || len(leaf.IPAddresses) > 0 {
		if err := leaf.VerifyHostname(name); err != nil {
			return fmt.Errorf("certificate: %w", err)
		}
		return nil
	}
	if !strings.EqualFold(leaf.Subject.CommonName, name) {
		return fmt.Errorf("certificate is for %q, not %q", leaf.Subject.CommonName, name)
	}
	return nil
}

// defaultNamingContext reads the domain DN from the RootDSE, once per connection.
func (s *session) defaultNamingContext() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.baseDN != "" {
		return s.baseDN, nil
	}
	res, err := s.conn.Search(goldap.NewSearchRequest("", goldap.ScopeBaseObject, goldap.NeverDerefAliases,
		0, 0, false, "(objectClass=*)", []string{"defaultNamingContext"}, nil))
	if err != nil {
		return "", fmt.Errorf("read RootDSE: %w", err)
	}
	if len(res.Entries) == 0 || res.Entries[0].GetAttributeValue("defaultNamingContext") == "" {
		return "", errors.New("RootDSE has no defaultNamingContext: give an absolute base")
	}
	s.baseDN = res.Entries[0].GetAttributeValue("defaultNamingContext")
	return s.baseDN, nil
}

// resolveDN makes rel absolute: "" is the domain, a DN with a DC= part is
// absolute, anything else is relative to the domain.
func (s *session) resolveDN(rel string) (string, error) {
	if strings.Contains(strings.ToLower(rel), "dc=") {
		return rel, nil
	}
	dnc, err := s.defaultNamingContext()
	if err != nil {
		return "", err
	}
	if rel == "" {
		return dnc, nil
	}
	return rel + "," + dnc, nil
}
