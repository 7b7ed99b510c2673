// Package grade is tailab's grader as a library, for programs outside the
// tailab module: load check suites (docs/suites.md), describe the machines to
// grade (addresses, ports, credentials, named identities), run the grader and
// write the report in any of tailab's formats (table, json, csv, junit,
// html, xlsx). It needs no session, no provider and no state: the caller says
// where the machines are.
//
// The credentials' secrets are Secret values (NewSecret): they never print
// (fmt, JSON, slog show "****"), and every secret of a candidate's machines is
// masked in the report's evidence and messages.
//
// See Example for a whole program.
package grade

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/checks/report"
	"github.com/tailab/tailab/exam"
	"github.com/tailab/tailab/internal/secret"
)

// The grader's own types, as this package hands them out.
type (
	// Suite is a loaded, validated check suite.
	Suite = checks.Suite
	// Report is a grading: every candidate's results and scores.
	Report = checks.Report
	// Result is one check's outcome for one candidate.
	Result = checks.Result
	// Status is a check's verdict: pass, fail, error (the grader could not
	// observe: never the candidate's fault), skip, na, jury.
	Status = checks.Status
	// Secret is a password or a private key that never prints.
	Secret = secret.Value
	// Credentials are what the grader presents to a machine over one
	// transport: User, Password and/or PrivateKey (PEM), Domain.
	Credentials = probe.Credentials
	// Registry holds the probes suites may use.
	Registry = probe.Registry
)

// The statuses of a check.
const (
	StatusPass  = checks.StatusPass
	StatusFail  = checks.StatusFail
	StatusError = checks.StatusError
	StatusSkip  = checks.StatusSkip
	StatusNA    = checks.StatusNA
	StatusJury  = checks.StatusJury
)

// NewSecret wraps a password or a private key (PEM) for Credentials.
func NewSecret(s string) Secret { return secret.New(s) }

// Probes returns a registry of every probe tailab knows (ssh, winrm, ldap,
// smb, http, dns, tcp, ping, dhcp).
func Probes() *Registry { return exam.Probes() }

// LoadSuite reads and validates a suite file against the probes (nil: every
// probe); its problems are reported at their file:line:col.
func LoadSuite(path string, probes *Registry) (*Suite, error) {
	if probes == nil {
		probes = Probes()
	}
	return checks.LoadSuiteFile(path, probes, nil)
}

// ParseSuite is LoadSuite on a suite's text; name is used in diagnostics.
func ParseSuite(name string, data []byte, probes *Registry) (*Suite, error) {
	if probes == nil {
		probes = Probes()
	}
	return checks.LoadSuite(name, data, probes, nil)
}

// Machine is one machine as the grader reaches it.
type Machine struct {
	// Address is the IP address or host name the grader dials.
	Address string
	// Ports by transport ("ssh": 2222) when they are not the protocol's
	// (ssh 22, winrm 5986, ldaps 636, ldap 389, smb 445, http 80, https 443,
	// dns 53). A check's own `port:` wins.
	Ports map[string]int
	// Credentials by transport: ssh, winrm, ldap, smb, http.
	Credentials map[string]Credentials
	// Identities are named credentials by transport and name, for checks
	// that say `as: NAME`.
	Identities map[string]map[string]Credentials
	// SSHHostKey, set, is the SHA256 fingerprint ("SHA256:...") of the only
	// SSH host key accepted: another is an error naming both. Unset, any key
	// is accepted and its fingerprint recorded in the evidence.
	SSHHostKey string
	// TLSSHA256, set, is the SHA-256 fingerprint of the only certificate
	// accepted from the machine's WinRM listener.
	TLSSHA256 string
}

// Candidate is one candidate and their machines, by the names the suites use.
type Candidate struct {
	ID        string
	LastName  string
	FirstName string
	// Params are the values suites' templates read ({{ .Params.x }}).
	Params   map[string]any
	Machines map[string]Machine
}

// Options tune a grading.
type Options struct {
	// Session and Lab name the grading in the report.
	Session, Lab string
	// Probes (nil: every probe).
	Probes *Registry
	// Concurrency bounds the probe runs at once (default checks.DefaultConcurrency).
	Concurrency int
	// Timeout is a check's timeout when it names none (default 30s).
	Timeout time.Duration
}

// Run grades every candidate against the suites. The suites' machines and
// identities must be the candidates' (checked first, at the suites'
// file:line:col); a machine the grader cannot reach gives its checks the
// status error, never fail.
func Run(ctx context.Context, suites []*Suite, cands []Candidate, o Options) (*Report, error) {
	if len(suites) == 0 || len(cands) == 0 {
		return nil, errors.New("grade: no suite or no candidate")
	}
	probes := o.Probes
	if probes == nil {
		probes = Probes()
	}
	machines, ids := map[string]bool{}, map[string]map[string][]string{}
	var names []string
	out := make([]checks.Candidate, len(cands))
	for i, c := range cands {
		cc := checks.Candidate{ID: c.ID, LastName: c.LastName, FirstName: c.FirstName, Index: i + 1,
			Params: c.Params, Machines: map[string]probe.Target{}}
		masker := &secret.Masker{}
		for name, m := range c.Machines {
			if !machines[name] {
				machines[name] = true
				names = append(names, name)
				ids[name] = map[string][]string{}
			}
			for tr, byName := range m.Identities {
				for id, cr := range byName {
					ids[name][tr] = append(ids[name][tr], id)
					mask(masker, cr)
				}
			}
			for _, cr := range m.Credentials {
				mask(masker, cr)
			}
			cc.Machines[name] = probe.Target{Session: o.Session, Candidate: c.ID, Machine: name,
				Address: m.Address, Ports: m.Ports, Credentials: m.Credentials, Identities: m.Identities,
				Masker: masker, SSHHostKey: m.SSHHostKey, TLSPin: m.TLSSHA256}
		}
		out[i] = cc
	}
	var errs []error
	for _, s := range suites {
		errs = append(errs, s.CheckMachines(names), s.CheckIdentities(ids))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	r := &checks.Runner{Registry: probes, Concurrency: o.Concurrency, DefaultTimeout: o.Timeout}
	return r.Run(ctx, checks.Session{ID: o.Session, Lab: o.Lab, StartedAt: time.Now()}, suites, out)
}

func mask(m *secret.Masker, c Credentials) {
	for _, v := range []Secret{c.Password, c.PrivateKey} {
		if !v.IsZero() {
			m.Add(v.Reveal())
		}
	}
}

// Formats lists the report formats WriteReport knows.
func Formats() []string { return report.Formats() }

// WriteReport writes rep to w in a format (Formats), dates in loc (nil: the
// local time zone).
func WriteReport(w io.Writer, rep *Report, format string, loc *time.Location) error {
	if loc == nil {
		loc = time.Local
	}
	reg, err := report.NewRegistry(report.Options{Location: loc})
	if err != nil {
		return err
	}
	f, err := reg.Get(format)
	if err != nil {
		return fmt.Errorf("grade: %w", err)
	}
	return f.Format(w, rep)
}
