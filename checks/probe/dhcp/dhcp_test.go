package dhcp_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/checks/probe/dhcp"
	"github.com/tailab/tailab/checks/probe/probetest"
	"github.com/tailab/tailab/internal/testenv"
	"github.com/tailab/tailab/internal/testenv/dnsmasq"
	"github.com/tailab/tailab/internal/yamlx"
)

func TestMain(m *testing.M) { testenv.RunInNetns(m) }

func TestDHCP(t *testing.T) {
	srv := dnsmasq.StartDHCP(t, dnsmasq.DHCPOptions{Lines: []string{
		"dhcp-option=option:router,192.0.2.1",
		"dhcp-option=option:dns-server,192.0.2.53,192.0.2.54",
		"dhcp-option=option:domain-name,lab.local",
		"dhcp-host=52:54:00:00:00:42,192.0.2.42",
	}})
	// A second, silent link: no server behind it.
	silent := dnsmasq.StartDHCP(t, dnsmasq.DHCPOptions{ServerCIDR: "198.51.100.1/24", Range: "198.51.100.100,198.51.100.110,1h",
		Lines: []string{"dhcp-ignore=tag:!known"}})
	tg := probe.Target{Machine: "gw", Address: "192.0.2.1"}

	tests := []struct {
		name   string
		p      dhcp.Params
		to     time.Duration
		want   map[string]any
		errSub string
	}{
		{name: "offer", p: dhcp.Params{Interface: srv.ClientIface, Hostname: "pc-test"}, want: map[string]any{
			"offered": true, "netmask": "255.255.255.0", "subnet": "192.0.2.0/24", "router": "192.0.2.1",
			"dns": []string{"192.0.2.53", "192.0.2.54"}, "domain": "lab.local", "lease_time": 3600, "server_id": "192.0.2.1"}},
		{name: "reservation", p: dhcp.Params{Interface: srv.ClientIface, MAC: "52:54:00:00:00:42"}, want: map[string]any{
			"offered": true, "address": "192.0.2.42"}},
		{name: "no offer is an observation", p: dhcp.Params{Interface: silent.ClientIface, Timeout: 1500 * time.Millisecond},
			want: map[string]any{"offered": false}},
		{name: "runner timeout, no offer", p: dhcp.Params{Interface: silent.ClientIface}, to: time.Second,
			want: map[string]any{"offered": false}},
		{name: "missing interface is an error", p: dhcp.Params{Interface: "nosuch0"}, errSub: "nosuch0"},
	}
	reqs := make([]probe.Request, len(tests))
	for i := range tests {
		reqs[i] = probe.Request{ID: tests[i].name, Params: &tests[i].p, Timeout: tests[i].to}
	}
	obs, err := dhcp.New().Run(context.Background(), tg, reqs)
	if err != nil {
		t.Fatal(err)
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := obs[i]
			if probetest.Err(t, o, tc.errSub) {
				return
			}
			for k, v := range tc.want {
				if !reflect.DeepEqual(o.Values[k], v) {
					t.Errorf("%s = %#v, want %#v\n%s", k, o.Values[k], v, o.Evidence)
				}
			}
		})
	}
	if a, _ := obs[0].Values["address"].(string); !strings.HasPrefix(a, "192.0.2.1") || a == "192.0.2.1" {
		t.Errorf("address %q not in the range", a)
	}
	// DISCOVER/OFFER only: the server must not have handed out a lease.
	if strings.Contains(srv.Log(), "DHCPACK") || strings.Contains(srv.Log(), "DHCPREQUEST") {
		t.Errorf("the probe completed a lease:\n%s", srv.Log())
	}
}

func TestContextDeadlineIsAnError(t *testing.T) {
	silent := dnsmasq.StartDHCP(t, dnsmasq.DHCPOptions{Lines: []string{"dhcp-ignore=tag:!known"}})
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	obs, _ := dhcp.New().Run(ctx, probe.Target{}, []probe.Request{{ID: "a", Params: &dhcp.Params{Interface: silent.ClientIface}}})
	if obs[0].Err == nil {
		t.Errorf("want an error when the caller's deadline cuts the wait, got %v", obs[0].Values)
	}
}

func TestParamsValidate(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"interface: lab0\nmac: 52:54:00:aa:bb:cc", ""},
		{"mac: 52:54:00:aa:bb:cc", "f.interface: missing interface"},
		{"interface: lab0\nmac: zz", "invalid MAC"},
	} {
		n, _ := yamlx.Parse("s.yaml", []byte(tc.yaml))
		d := yamlx.NewDecoder("s.yaml")
		p := dhcp.New().NewParams()
		d.Decode(n, p, "f")
		p.Validate(d, yamlx.Pos{File: "s.yaml", Line: 1, Column: 1}, "f")
		got := d.Diags.Error()
		if (tc.want == "") != (len(d.Diags) == 0) || !strings.Contains(got, tc.want) {
			t.Errorf("%q: diagnostics %q, want %q", tc.yaml, got, tc.want)
		}
	}
}
