// Package dns is the `dns` probe: one DNS query, of any record type, to the lab's
// DNS server (by default the machine itself), and the answer.
//
// # Params
//
//	probe:
//	  type: dns
//	  name: dc1.lab.local       # required; an IP address with type PTR is reversed for you
//	  type: A                   # default A; any type name: AAAA, CNAME, MX, SRV, TXT, NS, SOA, PTR, ...
//	  server: 10.0.0.1          # optional host or host:port; default the machine's address, port 53
//	                            # (or the target's "dns" port)
//	  proto: udp                # udp (default; retried over TCP when truncated) or tcp
//	  recurse: true             # the RD flag (default true); false to ask for local data only
//	  timeout: 5s               # default 5s
//
// # Values
//
//   - rcode (string): NOERROR, NXDOMAIN, SERVFAIL, REFUSED, ...
//   - answers ([]string): the data of the answer records of the asked type, in order,
//     names without their final dot: A/AAAA the address, CNAME/NS/PTR the name,
//     MX "10 mail.lab.local", SRV "0 100 389 dc1.lab.local", TXT the strings joined,
//     SOA "ns mbox serial refresh retry expire minttl"; for type ANY every record
//   - count (int): len(answers)
//   - ttl (int): the smallest TTL among those records (0 when there is none)
//   - authoritative (bool): the AA flag
//   - records ([]string): every answer-section record in zone-file form (CNAME chains)
//   - server (string): the server asked
//
// A negative answer (NXDOMAIN, an empty NOERROR, SERVFAIL) is an observation; no
// answer at all (timeout, port closed, unreachable server) is an `error`. A UDP
// query without an answer is sent again after Retransmit, then twice as long each
// time, until the timeout. A
// batch's queries are in flight together (up to Parallel), so a server that is
// down costs a machine one timeout, not one per check.
package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/internal/yamlx"
)

// Type is the probe's name in suites.
const Type = "dns"

// DefaultTimeout bounds one query when neither the check nor the runner sets one.
const DefaultTimeout = 5 * time.Second

// Params are one check's dns probe parameters.
type Params struct {
	Name    string        `yaml:"name"`
	Type    string        `yaml:"type"`
	Server  string        `yaml:"server"`
	Proto   string        `yaml:"proto"`
	Recurse *bool         `yaml:"recurse"`
	Timeout time.Duration `yaml:"timeout"`

	Positions yamlx.Positions `yaml:"-"`
}

// Validate reports a missing name, an unknown record type or protocol.
func (p *Params) Validate(d *yamlx.Decoder, at yamlx.Pos, field string) {
	bad := func(key, format string, args ...any) {
		d.Diags.Add(p.Positions.Of(key, at), join(field, key), format, args...)
	}
	if strings.TrimSpace(p.Name) == "" {
		bad("name", "missing name (the DNS name to look up)")
	}
	if p.Type != "" {
		if _, ok := mdns.StringToType[strings.ToUpper(p.Type)]; !ok {
			bad("type", "unknown record type %q%s", p.Type, yamlx.Suggest(strings.ToUpper(p.Type), []string{"A", "AAAA", "CNAME", "MX", "NS", "PTR", "SOA", "SRV", "TXT", "CAA", "ANY"}))
		}
	}
	switch strings.ToLower(p.Proto) {
	case "", "udp", "tcp":
	default:
		bad("proto", "proto must be udp or tcp, not %q", p.Proto)
	}
	if p.Server != "" {
		if _, _, err := splitServer(p.Server, 53); err != nil {
			bad("server", "%v", err)
		}
	}
	if p.Timeout < 0 {
		bad("timeout", "timeout must be positive")
	}
}

func join(field, key string) string { return probe.JoinField(field, key) }

// splitServer accepts "host", "host:port", "[v6]:port" or a bare IPv6 address.
func splitServer(s string, def int) (string, int, error) {
	if ip := net.ParseIP(s); ip != nil {
		return s, def, nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		if strings.Contains(err.Error(), "missing port") {
			return s, def, nil
		}
		return "", 0, fmt.Errorf("server %q: %w", s, err)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", 0, fmt.Errorf("server %q: bad port", s)
	}
	return host, n, nil
}

// Probe is the dns probe.
type Probe struct{}

var _ probe.Probe = (*Probe)(nil)

// New returns a dns probe.
func New() *Probe { return &Probe{} }

// Type returns "dns".
func (*Probe) Type() string { return Type }

// NewParams returns empty dns parameters.
func (*Probe) NewParams() probe.Params { return &Params{} }

func timeoutOf(p *Params, r probe.Request) time.Duration {
	return probe.Timeout(p.Timeout, r, DefaultTimeout)
}

// Parallel is how many queries of a batch are in flight at once: a server
// that does not answer costs the batch one timeout, not one per check.
const Parallel = 16

// Run sends the requests' queries, up to Parallel at a time.
func (p *Probe) Run(ctx context.Context, t probe.Target, reqs []probe.Request) ([]probe.Observation, error) {
	prms := make([]*Params, len(reqs))
	for i, r := range reqs {
		prm, ok := r.Params.(*Params)
		if !ok || prm == nil {
			return nil, fmt.Errorf("dns probe: request %q: params are %T, not *dns.Params", r.ID, r.Params)
		}
		prms[i] = prm
	}
	obs := make([]probe.Observation, len(reqs))
	probe.Each(len(reqs), Parallel, func(i int) { obs[i] = observe(ctx, t, reqs[i], prms[i]) })
	return obs, nil
}

func observe(ctx context.Context, t probe.Target, r probe.Request, p *Params) probe.Observation {
	o := probe.Observation{ID: r.ID}
	server := p.Server
	if server == "" {
		server = t.Address
	}
	host, port, err := splitServer(server, t.Port("dns", 53))
	if err != nil {
		o.Err = err
		return o
	}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	qtype := mdns.TypeA
	if p.Type != "" {
		qtype = mdns.StringToType[strings.ToUpper(p.Type)]
	}
	name := p.Name
	if qtype == mdns.TypePTR {
		if rev, err := mdns.ReverseAddr(name); err == nil {
			name = rev
		}
	}
	name = mdns.Fqdn(name)
	msg := new(mdns.Msg)
	msg.SetQuestion(name, qtype)
	msg.RecursionDesired = p.Recurse == nil || *p.Recurse
	proto := strings.ToLower(p.Proto)
	if proto == "" {
		proto = "udp"
	}
	to := timeoutOf(p, r)
	ctx, cancel := context.WithTimeout(ctx, to)
	defer cancel()
	client := &mdns.Client{Net: proto, Timeout: to}
	var ev strings.Builder
	fmt.Fprintf(&ev, ";; %s %s %s @%s (%s)\n", strings.TrimSuffix(name, "."), "IN", mdns.TypeToString[qtype], addr, proto)
	start := time.Now()
	resp, err := exchange(ctx, client, msg, addr)
	if err == nil && resp.Truncated && proto == "udp" {
		fmt.Fprintf(&ev, ";; truncated, retrying over TCP\n")
		client.Net = "tcp"
		resp, _, err = client.ExchangeContext(ctx, msg, addr)
	}
	o.Duration = time.Since(start)
	if err != nil {
		var ne net.Error
		if ctx.Err() != nil || errors.As(err, &ne) && ne.Timeout() {
			err = fmt.Errorf("no answer within %s: %w", to, err)
		}
		o.Err = fmt.Errorf("dns %s %s @%s: %w", strings.TrimSuffix(name, "."), mdns.TypeToString[qtype], addr, err)
		fmt.Fprintf(&ev, ";; %v\n", err)
		o.Evidence = t.Masker.Mask(ev.String())
		return o
	}
	answers := []string{}
	records := []string{}
	minTTL := -1
	for _, rr := range resp.Answer {
		records = append(records, rr.String())
		h := rr.Header()
		if qtype != mdns.TypeANY && h.Rrtype != qtype {
			continue
		}
		answers = append(answers, rdata(rr))
		if minTTL < 0 || int(h.Ttl) < minTTL {
			minTTL = int(h.Ttl)
		}
	}
	o.Values = map[string]any{
		"rcode":         mdns.RcodeToString[resp.Rcode],
		"answers":       answers,
		"count":         len(answers),
		"ttl":           max(minTTL, 0),
		"authoritative": resp.Authoritative,
		"records":       records,
		"server":        addr,
	}
	flags := []string{}
	if resp.Authoritative {
		flags = append(flags, "aa")
	}
	if resp.RecursionAvailable {
		flags = append(flags, "ra")
	}
	fmt.Fprintf(&ev, ";; %s, flags [%s], %d answer(s), %.1f ms\n", mdns.RcodeToString[resp.Rcode], strings.Join(flags, " "), len(resp.Answer), float64(o.Duration.Microseconds())/1000)
	for _, rec := range records {
		ev.WriteString(rec + "\n")
	}
	o.Evidence = t.Masker.Mask(ev.String())
	return o
}

// Retransmit is how long a UDP query waits for its answer before it is sent
// again (then twice as long each time, within the check's timeout), as
// resolvers and dig do: a datagram lost on the way (a busy server's full
// socket buffer) must not make the check an error.
const Retransmit = time.Second

// exchange sends the query, again over UDP while no answer comes, until ctx ends.
func exchange(ctx context.Context, c *mdns.Client, msg *mdns.Msg, addr string) (*mdns.Msg, error) {
	wait := Retransmit
	for {
		tctx, cancel := context.WithTimeout(ctx, wait)
		if c.Net != "udp" {
			cancel()
			tctx = ctx
		}
		resp, _, err := c.ExchangeContext(tctx, msg, addr)
		cancel()
		var ne net.Error
		if err == nil || c.Net != "udp" || ctx.Err() != nil || !errors.As(err, &ne) || !ne.Timeout() {
			return resp, err
		}
		wait *= 2
	}
}

// rdata renders a record's data as answers holds it.
func rdata(rr mdns.RR) string {
	switch v := rr.(type) {
	case *mdns.A:
		return v.A.String()
	case *mdns.AAAA:
		return v.AAAA.String()
	case *mdns.CNAME:
		return dot(v.Target)
	case *mdns.NS:
		return dot(v.Ns)
	case *mdns.PTR:
		return dot(v.Ptr)
	case *mdns.MX:
		return fmt.Sprintf("%d %s", v.Preference, dot(v.Mx))
	case *mdns.SRV:
		return fmt.Sprintf("%d %d %d %s", v.Priority, v.Weight, v.Port, dot(v.Target))
	case *mdns.TXT:
		return strings.Join(v.Txt, "")
	case *mdns.SOA:
		return fmt.Sprintf("%s %s %d %d %d %d %d", dot(v.Ns), dot(v.Mbox), v.Serial, v.Refresh, v.Retry, v.Expire, v.Minttl)
	}
	return strings.TrimSpace(strings.TrimPrefix(rr.String(), rr.Header().String()))
}

func dot(name string) string {
	if name == "." {
		return name
	}
	return strings.TrimSuffix(name, ".")
}
