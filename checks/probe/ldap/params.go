package ldap

import (
	"fmt"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/tailab/tailab/internal/yamlx"
)

// Params are one ldap check's parameters (see the package documentation).
type Params struct {
	// Connection (the same for every check of a batch, normally).
	TLS                string `yaml:"tls"`  // ldaps (default), starttls, none
	Port               int    `yaml:"port"` // default: 636 for ldaps, 389 otherwise
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
	CAFile             string `yaml:"ca_file"`
	ServerName         string `yaml:"server_name"`
	Credentials        string `yaml:"credentials"` // name in the target's credentials; default "ldap"

	// Search.
	Base       string   `yaml:"base"`
	Scope      string   `yaml:"scope"` // sub (default), one, base
	Filter     string   `yaml:"filter"`
	Attributes []string `yaml:"attributes"`
	SizeLimit  int      `yaml:"size_limit"`

	// Active Directory helpers.
	MemberOfNested string `yaml:"member_of_nested"`
	CreatedAfter   string `yaml:"created_after"`
	GPOLinks       bool   `yaml:"gpo_links"`
	AccountFlags   bool   `yaml:"account_flags"`
	AGDLP          *AGDLP `yaml:"agdlp"`

	Positions yamlx.Positions `yaml:"-"`
}

// TLS modes.
const (
	TLSLDAPS    = "ldaps"
	TLSStartTLS = "starttls"
	TLSNone     = "none"
)

var (
	tlsModes = []string{TLSLDAPS, TLSStartTLS, TLSNone}
	scopes   = map[string]int{
		"sub": goldap.ScopeWholeSubtree, "subtree": goldap.ScopeWholeSubtree,
		"one": goldap.ScopeSingleLevel, "onelevel": goldap.ScopeSingleLevel,
		"base": goldap.ScopeBaseObject,
	}
)

// Validate reports parameter mistakes with their position.
func (p *Params) Validate(d *yamlx.Decoder, at yamlx.Pos, field string) {
	bad := func(key, format string, args ...any) {
		f := key
		if field != "" {
			f = field + "." + key
		}
		d.Diags.Add(p.Positions.Of(key, at), f, format, args...)
	}
	if p.TLS != "" && !contains(tlsModes, p.TLS) {
		bad("tls", "unknown TLS mode %q%s", p.TLS, yamlx.Suggest(p.TLS, tlsModes))
	}
	if p.Port < 0 || p.Port > 65535 {
		bad("port", "port %d out of range", p.Port)
	}
	if p.Scope != "" {
		if _, ok := scopes[p.Scope]; !ok {
			bad("scope", "unknown scope %q%s", p.Scope, yamlx.Suggest(p.Scope, []string{"sub", "one", "base"}))
		}
	}
	if p.Filter != "" && !templated(p.Filter) {
		if _, err := goldap.CompileFilter(p.filter()); err != nil {
			bad("filter", "invalid LDAP filter %q: %v", p.Filter, err)
		}
	}
	if p.SizeLimit < 0 {
		bad("size_limit", "size_limit must be 0 (no limit) or positive")
	}
	if p.CreatedAfter != "" && !templated(p.CreatedAfter) {
		if _, err := parseTime(p.CreatedAfter); err != nil {
			bad("created_after", "%v", err)
		}
	}
	if a := p.AGDLP; a != nil && (strings.TrimSpace(a.Account) == "" || strings.TrimSpace(a.Global) == "" || strings.TrimSpace(a.DomainLocal) == "") {
		bad("agdlp", "agdlp needs account, global and domain_local (sAMAccountNames)")
	}
	if p.InsecureSkipVerify && p.CAFile != "" {
		bad("ca_file", "ca_file and insecure_skip_verify exclude each other")
	}
	if p.TLS == TLSNone && (p.InsecureSkipVerify || p.CAFile != "") {
		bad("tls", "tls: none takes no TLS settings")
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// templated reports an unexpanded template, validated once the runner expands it.
func templated(s string) bool { return strings.Contains(s, "{{") }

// parseTime accepts RFC 3339 (with or without fractional seconds) and AD
// generalized time (20260102150405.0Z).
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := parseGeneralizedTime(s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("expected a time such as 2026-06-15T08:00:00Z, got %q", s)
}

// tlsMode returns the effective TLS mode.
func (p *Params) tlsMode() string {
	if p.TLS == "" {
		return TLSLDAPS
	}
	return p.TLS
}

// connKey groups the requests that can share one connection.
func (p *Params) connKey() string {
	return fmt.Sprintf("%s|%d|%t|%s|%s|%s", p.tlsMode(), p.Port, p.InsecureSkipVerify, p.CAFile, p.ServerName, p.credName())
}

func (p *Params) credName() string {
	if p.Credentials == "" {
		return "ldap"
	}
	return p.Credentials
}

func (p *Params) scope() int {
	if s, ok := scopes[p.Scope]; ok {
		return s
	}
	return goldap.ScopeWholeSubtree
}

func (p *Params) filter() string {
	f := p.Filter
	if f == "" {
		f = "(objectClass=*)"
	}
	if !strings.HasPrefix(f, "(") {
		f = "(" + f + ")"
	}
	return f
}
