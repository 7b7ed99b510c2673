// Package dhcp is the `dhcp` probe: "is a lease offered on this lab network, and
// what is in it?" The grader broadcasts a DHCPDISCOVER on a named interface attached
// to the lab network and reports the first DHCPOFFER.
//
// It stops at the offer: no DHCPREQUEST is sent, so no lease is taken from the
// candidate's pool and the server's lease table is left as the candidate made it
// (the server may still log the DISCOVER/OFFER exchange).
//
// The interface must be in the grader's network namespace (on a libvirt host run in
// a namespace, a veth or bridge port on the lab network created for the grader), and
// the grader needs CAP_NET_RAW (root) for the raw packet socket. The machine of the
// check (Target) is normally the DHCP server: compare server_id with its address.
//
// # Params
//
//	probe:
//	  type: dhcp
//	  interface: lab0           # required: where to broadcast
//	  mac: 52:54:00:12:34:56    # optional client hardware address (default the interface's);
//	                            # use a reserved MAC to check a reservation
//	  hostname: pc-test         # optional option 12 sent in the DISCOVER
//	  timeout: 10s              # default 10s; DISCOVER is resent at 1 s, 2 s, 4 s, ...
//
// # Values
//
//   - offered (bool): an offer came within the timeout
//   - address (string): the offered address (yiaddr)
//   - netmask (string, "255.255.255.0") and subnet (string, "192.0.2.0/24")
//   - router (string): the first router (option 3); routers ([]string) all of them
//   - dns ([]string): DNS servers (option 6); domain (string): domain name (option 15)
//   - lease_time (int): lease time in seconds (option 51)
//   - server_id (string): the server identifier (option 54)
//
// No offer within the timeout is an observation (offered: false: the candidate's
// server is down or misconfigured); a missing interface, a socket that cannot be
// opened or the runner's own deadline cutting the wait short are errors.
package dhcp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"

	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/internal/yamlx"
)

// Type is the probe's name in suites.
const Type = "dhcp"

// DefaultTimeout bounds the wait for an offer when neither check nor runner sets one.
const DefaultTimeout = 10 * time.Second

// Params are one check's dhcp probe parameters.
type Params struct {
	Interface string        `yaml:"interface"`
	MAC       string        `yaml:"mac"`
	Hostname  string        `yaml:"hostname"`
	Timeout   time.Duration `yaml:"timeout"`

	Positions yamlx.Positions `yaml:"-"`
}

// Validate reports a missing interface or a bad MAC address.
func (p *Params) Validate(d *yamlx.Decoder, at yamlx.Pos, field string) {
	if strings.TrimSpace(p.Interface) == "" {
		d.Diags.Add(p.Positions.Of("interface", at), join(field, "interface"), "missing interface (the grader's interface on the lab network)")
	}
	if p.MAC != "" {
		if hw, err := net.ParseMAC(p.MAC); err != nil || len(hw) != 6 {
			d.Diags.Add(p.Positions.Of("mac", at), join(field, "mac"), "invalid MAC address %q (want 52:54:00:xx:xx:xx)", p.MAC)
		}
	}
	if p.Timeout < 0 {
		d.Diags.Add(p.Positions.Of("timeout", at), join(field, "timeout"), "timeout must be positive")
	}
}

func join(field, key string) string { return probe.JoinField(field, key) }

// Probe is the dhcp probe.
type Probe struct{}

var _ probe.Probe = (*Probe)(nil)

// New returns a dhcp probe.
func New() *Probe { return &Probe{} }

// Type returns "dhcp".
func (*Probe) Type() string { return Type }

// NewParams returns empty dhcp parameters.
func (*Probe) NewParams() probe.Params { return &Params{} }

func timeoutOf(p *Params, r probe.Request) time.Duration {
	return probe.Timeout(p.Timeout, r, DefaultTimeout)
}

// Run sends one DISCOVER per request, reusing one client (raw socket) per interface
// and MAC address.
func (p *Probe) Run(ctx context.Context, t probe.Target, reqs []probe.Request) ([]probe.Observation, error) {
	clients := map[string]*nclient4.Client{}
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	obs := make([]probe.Observation, len(reqs))
	for i, r := range reqs {
		prm, ok := r.Params.(*Params)
		if !ok || prm == nil {
			return nil, fmt.Errorf("dhcp probe: request %q: params are %T, not *dhcp.Params", r.ID, r.Params)
		}
		obs[i] = observe(ctx, t, r, prm, clients)
	}
	return obs, nil
}

func observe(ctx context.Context, t probe.Target, r probe.Request, p *Params, clients map[string]*nclient4.Client) probe.Observation {
	o := probe.Observation{ID: r.ID}
	var ev strings.Builder
	key := p.Interface + "|" + strings.ToLower(p.MAC)
	c, ok := clients[key]
	if !ok {
		opts := []nclient4.ClientOpt{nclient4.WithTimeout(time.Second), nclient4.WithRetry(-1)}
		if p.MAC != "" {
			hw, err := net.ParseMAC(p.MAC)
			if err != nil {
				o.Err = fmt.Errorf("dhcp: mac %q: %w", p.MAC, err)
				return o
			}
			opts = append(opts, nclient4.WithHWAddr(hw))
		}
		var err error
		c, err = nclient4.New(p.Interface, opts...)
		if err != nil {
			o.Err = fmt.Errorf("dhcp on %s: %w", p.Interface, err)
			return o
		}
		clients[key] = c
	}
	mods := []dhcpv4.Modifier{
		dhcpv4.WithBroadcast(true),
		dhcpv4.WithRequestedOptions(dhcpv4.OptionSubnetMask, dhcpv4.OptionRouter, dhcpv4.OptionDomainNameServer,
			dhcpv4.OptionDomainName, dhcpv4.OptionIPAddressLeaseTime, dhcpv4.OptionServerIdentifier),
	}
	if p.Hostname != "" {
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptHostName(p.Hostname)))
	}
	to := timeoutOf(p, r)
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, to)
	defer cancel()
	fmt.Fprintf(&ev, "DHCPDISCOVER on %s from %s\n", p.Interface, c.InterfaceAddr())
	start := time.Now()
	offer, err := c.DiscoverOffer(ctx, mods...)
	o.Duration = time.Since(start)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ownDeadline(parent, start.Add(to)) {
			o.Values = map[string]any{"offered": false}
			fmt.Fprintf(&ev, "no DHCPOFFER within %s\n", to)
			o.Evidence = t.Masker.Mask(ev.String())
			return o
		}
		o.Err = fmt.Errorf("dhcp on %s: %w", p.Interface, err)
		fmt.Fprintf(&ev, "%v\n", err)
		o.Evidence = t.Masker.Mask(ev.String())
		return o
	}
	o.Values = values(offer)
	fmt.Fprintf(&ev, "DHCPOFFER after %.1f ms:\n%s", float64(o.Duration.Microseconds())/1000, offer.Summary())
	o.Evidence = t.Masker.Mask(ev.String())
	return o
}

// ownDeadline reports whether the request's own timeout (ending at end), not the
// caller's context, cut the wait: only then does silence mean "no offer".
func ownDeadline(parent context.Context, end time.Time) bool {
	if parent.Err() != nil {
		return false
	}
	dl, ok := parent.Deadline()
	return !ok || !dl.Before(end)
}

func values(m *dhcpv4.DHCPv4) map[string]any {
	v := map[string]any{
		"offered":    true,
		"address":    m.YourIPAddr.String(),
		"netmask":    "",
		"subnet":     "",
		"router":     "",
		"routers":    ips(m.Router()),
		"dns":        ips(m.DNS()),
		"domain":     m.DomainName(),
		"lease_time": int(m.IPAddressLeaseTime(0) / time.Second),
		"server_id":  "",
	}
	if mask := m.SubnetMask(); mask != nil {
		v["netmask"] = net.IP(mask).String()
		v["subnet"] = (&net.IPNet{IP: m.YourIPAddr.Mask(mask), Mask: mask}).String()
	}
	if rs := m.Router(); len(rs) > 0 {
		v["router"] = rs[0].String()
	}
	if id := m.ServerIdentifier(); id != nil {
		v["server_id"] = id.String()
	}
	return v
}

func ips(l []net.IP) []string {
	out := make([]string, 0, len(l))
	for _, ip := range l {
		out = append(out, ip.String())
	}
	return out
}
