package exam

import (
	"bytes"
	"context"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/checks/probe/dhcp"
	"github.com/tailab/tailab/checks/probe/dns"
	"github.com/tailab/tailab/checks/probe/http"
	"github.com/tailab/tailab/checks/probe/ldap"
	"github.com/tailab/tailab/checks/probe/ping"
	"github.com/tailab/tailab/checks/probe/smb"
	"github.com/tailab/tailab/checks/probe/ssh"
	"github.com/tailab/tailab/checks/probe/tcp"
	"github.com/tailab/tailab/checks/probe/winrm"
	"github.com/tailab/tailab/internal/errclass"
	"github.com/tailab/tailab/internal/userfile"
)

// Probes returns a registry holding every probe the grader knows, to load
// suites with (and to grade without resolving `from` machines).
func Probes() *probe.Registry { return registry(ping.New(), nil) }

// GradeProbes is Probes for one grading: ping resolves `from` machines through
// v (see vantagePing), w is the winrm probe (nil: winrm.New(), see WinRMClient).
func GradeProbes(v *checks.Vantages, w *winrm.WinRM) *probe.Registry {
	return registry(&vantagePing{base: ping.New(), v: v}, w)
}

// registry is the one list of the grader's probes.
func registry(pingProbe probe.Probe, w *winrm.WinRM) *probe.Registry {
	if w == nil {
		w = winrm.New()
	}
	return probe.NewRegistry(
		ssh.New(),
		tcp.New(),
		http.New(),
		dns.New(),
		pingProbe,
		dhcp.New(),
		ldap.New(),
		smb.New(),
		w,
	)
}

// WinRMClient is the WinRM client of the grader and of the steps: it trusts
// the certificate each machine presented when `up` found it ready (the
// target's pin), or, with caFile, the certificates that CA signed.
func WinRMClient(caFile string) (*winrm.WinRM, error) {
	w := winrm.New()
	if caFile == "" {
		return w, nil
	}
	pem, err := userfile.Read(caFile)
	if err != nil {
		return nil, errclass.Wrap(errclass.Usage, err)
	}
	if !bytes.Contains(pem, []byte("-----BEGIN CERTIFICATE-----")) {
		return nil, errclass.Usagef("%s: no PEM certificate in the file", caFile)
	}
	w.CAFile, w.CACert = caFile, pem
	return w, nil
}

// vantagePing is the ping probe as grade runs it: a `from` machine, the probe's
// (`probe: {type: ping, from: pc1}`) or the check's (`from: pc1`), is that
// candidate's machine, and the ping runs there over its shell probe (ssh), one
// batch per vantage. With the check's `from`, the runner hands the vantage's
// target; the host pinged is then the check's machine at its lab address (the
// management network isolates machines from each other), unless `host` says.
type vantagePing struct {
	base *ping.Probe
	v    *checks.Vantages
}

var _ probe.Probe = (*vantagePing)(nil)

// Type returns "ping".
func (p *vantagePing) Type() string { return p.base.Type() }

// NewParams returns empty ping parameters.
func (p *vantagePing) NewParams() probe.Params { return p.base.NewParams() }

// Run pings for the requests of one target (one candidate's machine).
func (p *vantagePing) Run(ctx context.Context, t probe.Target, reqs []probe.Request) ([]probe.Observation, error) {
	inner := *p.base
	inner.Vantage = func(_ context.Context, from string) (probe.Target, error) {
		return p.v.Target(t.Candidate, from)
	}
	out := make([]probe.Request, len(reqs))
	for i, r := range reqs {
		out[i] = r
		chk := p.v.Check(r.ID)
		prm, ok := r.Params.(*ping.Params)
		if !ok || chk == nil || prm.Method == "tcp" {
			continue
		}
		from := prm.From
		if from == "" {
			from = chk.From
		}
		if from == "" {
			continue // from the grader
		}
		cp := *prm
		cp.From = from
		if cp.Host == "" {
			if addr, ok := p.v.LabAddress(t.Candidate, chk.Machine, cp.From); ok {
				cp.Host = addr
			} else if m, err := p.v.Target(t.Candidate, chk.Machine); err == nil {
				cp.Host = m.Address
			}
		}
		out[i].Params = &cp
	}
	return inner.Run(ctx, t, out)
}
