package dns_test

import (
	"context"
	"net"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/checks/probe/dns"
	"github.com/tailab/tailab/checks/probe/probetest"
	"github.com/tailab/tailab/internal/testenv"
	"github.com/tailab/tailab/internal/testenv/dnsmasq"
	"github.com/tailab/tailab/internal/yamlx"
)

func TestMain(m *testing.M) { testenv.RunInNetns(m) }

func TestDNS(t *testing.T) {
	srv := dnsmasq.StartDNS(t, dnsmasq.DNSOptions{Host: "127.0.0.53", Lines: []string{
		"host-record=dc1.lab.local,10.10.0.10",
		"host-record=web.lab.local,10.10.0.20",
		"cname=intranet.lab.local,web.lab.local",
		"mx-host=lab.local,mail.lab.local,10",
		"srv-host=_ldap._tcp.lab.local,dc1.lab.local,389,0,100",
		`txt-record=lab.local,"v=spf1 -all"`,
		"local-ttl=300",
		"local=/lab.local/",
	}})
	// A UDP socket that never answers, for the timeout case.
	mute, err := net.ListenPacket("udp", "127.0.0.54:0")
	if err != nil {
		t.Fatal(err)
	}
	defer mute.Close()
	closed := testenv.FreePort(t, "127.0.0.55")
	tg := probe.Target{Machine: "dc1", Address: srv.Host, Ports: map[string]int{"dns": srv.Port}}

	tests := []struct {
		name    string
		p       dns.Params
		to      time.Duration
		rcode   string
		answers []string
		errSub  string
	}{
		{name: "A", p: dns.Params{Name: "dc1.lab.local"}, rcode: "NOERROR", answers: []string{"10.10.0.10"}},
		{name: "A over tcp", p: dns.Params{Name: "dc1.lab.local.", Proto: "tcp"}, rcode: "NOERROR", answers: []string{"10.10.0.10"}},
		{name: "nxdomain", p: dns.Params{Name: "nope.lab.local"}, rcode: "NXDOMAIN", answers: []string{}},
		{name: "cname chain gives addresses", p: dns.Params{Name: "intranet.lab.local"}, rcode: "NOERROR", answers: []string{"10.10.0.20"}},
		{name: "CNAME", p: dns.Params{Name: "intranet.lab.local", Type: "cname"}, rcode: "NOERROR", answers: []string{"web.lab.local"}},
		{name: "MX", p: dns.Params{Name: "lab.local", Type: "MX"}, rcode: "NOERROR", answers: []string{"10 mail.lab.local"}},
		{name: "SRV", p: dns.Params{Name: "_ldap._tcp.lab.local", Type: "SRV"}, rcode: "NOERROR", answers: []string{"0 100 389 dc1.lab.local"}},
		{name: "TXT", p: dns.Params{Name: "lab.local", Type: "TXT"}, rcode: "NOERROR", answers: []string{"v=spf1 -all"}},
		{name: "PTR from an IP", p: dns.Params{Name: "10.10.0.10", Type: "PTR"}, rcode: "NOERROR", answers: []string{"dc1.lab.local"}},
		{name: "explicit server", p: dns.Params{Name: "web.lab.local", Server: srv.Addr()}, rcode: "NOERROR", answers: []string{"10.10.0.20"}},
		{name: "server down", p: dns.Params{Name: "dc1.lab.local", Server: "127.0.0.55:" + strconv.Itoa(closed)}, errSub: "refused"},
		{name: "timeout", p: dns.Params{Name: "dc1.lab.local", Server: mute.LocalAddr().String(), Timeout: 300 * time.Millisecond}, errSub: "no answer within"},
		{name: "runner timeout", p: dns.Params{Name: "dc1.lab.local", Server: mute.LocalAddr().String()}, to: 300 * time.Millisecond, errSub: "no answer within"},
	}
	reqs := make([]probe.Request, len(tests))
	for i := range tests {
		reqs[i] = probe.Request{ID: tests[i].name, Params: &tests[i].p, Timeout: tests[i].to}
	}
	start := time.Now()
	obs, err := dns.New().Run(context.Background(), tg, reqs)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("batch took %s", d)
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := obs[i]
			if probetest.Err(t, o, tc.errSub) {
				return
			}
			if o.Values["rcode"] != tc.rcode || !reflect.DeepEqual(o.Values["answers"], tc.answers) {
				t.Errorf("rcode %v answers %#v, want %v %#v\n%s", o.Values["rcode"], o.Values["answers"], tc.rcode, tc.answers, o.Evidence)
			}
			if len(tc.answers) > 0 && o.Values["ttl"] != 300 {
				t.Errorf("ttl %v, want 300", o.Values["ttl"])
			}
			if o.Values["count"] != len(tc.answers) {
				t.Errorf("count %v", o.Values["count"])
			}
		})
	}
	t.Logf("evidence sample:\n%s\n%s", obs[3].Evidence, obs[2].Evidence)
}

func TestContextDeadline(t *testing.T) {
	testenv.RequireIsolatedNetwork(t)
	mute, err := net.ListenPacket("udp", "127.0.0.56:0")
	if err != nil {
		t.Fatal(err)
	}
	defer mute.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	obs, _ := dns.New().Run(ctx, probe.Target{Address: "127.0.0.56"}, []probe.Request{{ID: "a", Params: &dns.Params{Name: "x.lab", Server: mute.LocalAddr().String()}}})
	if obs[0].Err == nil || time.Since(start) > time.Second {
		t.Errorf("Err %v after %s", obs[0].Err, time.Since(start))
	}
}

func TestParamsValidate(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"name: a.lab\ntype: srv", ""},
		{"type: A", "f.name: missing name"},
		{"name: a\ntype: AAA", `unknown record type "AAA" (did you mean "AAAA"?)`},
		{"name: a\nproto: quic", "proto must be udp or tcp"},
		{"name: a\nserver: 'h:99999'", "bad port"},
		{"name: a\nserver: '::1'", ""},
	} {
		n, _ := yamlx.Parse("s.yaml", []byte(tc.yaml))
		d := yamlx.NewDecoder("s.yaml")
		p := dns.New().NewParams()
		d.Decode(n, p, "f")
		p.Validate(d, yamlx.Pos{File: "s.yaml", Line: 1, Column: 1}, "f")
		got := d.Diags.Error()
		if (tc.want == "") != (len(d.Diags) == 0) || !strings.Contains(got, tc.want) {
			t.Errorf("%q: diagnostics %q, want %q", tc.yaml, got, tc.want)
		}
	}
}

// TestQueriesInFlightTogether: a server that answers only once it holds
// every query of the batch answers them all, so the probe has them in flight
// at once (one after the other, the first would wait out its timeout).
func TestQueriesInFlightTogether(t *testing.T) {
	testenv.RequireIsolatedNetwork(t)
	const n = 8
	conn, err := net.ListenPacket("udp", "127.0.0.57:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	go func() {
		type query struct {
			from net.Addr
			msg  *mdns.Msg
		}
		var held []query
		buf := make([]byte, 512)
		for len(held) < n {
			k, from, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			m := new(mdns.Msg)
			if m.Unpack(buf[:k]) == nil {
				held = append(held, query{from, m})
			}
		}
		for _, q := range held {
			r := new(mdns.Msg)
			r.SetReply(q.msg)
			rr, _ := mdns.NewRR(q.msg.Question[0].Name + " 60 IN A 10.9.9.9")
			r.Answer = append(r.Answer, rr)
			out, _ := r.Pack()
			_, _ = conn.WriteTo(out, q.from)
		}
	}()
	reqs := make([]probe.Request, n)
	for i := range reqs {
		reqs[i] = probe.Request{ID: strconv.Itoa(i), Params: &dns.Params{Name: "h" + strconv.Itoa(i) + ".lab.local", Server: conn.LocalAddr().String(), Timeout: 10 * time.Second}}
	}
	obs, err := dns.New().Run(context.Background(), probe.Target{Address: "127.0.0.57"}, reqs)
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range obs {
		if o.ID != reqs[i].ID || o.Err != nil || !reflect.DeepEqual(o.Values["answers"], []string{"10.9.9.9"}) {
			t.Errorf("query %d: id %q err %v values %v", i, o.ID, o.Err, o.Values)
		}
	}
}

// TestLostQuerySentAgain: a server that drops the first datagram of a query
// answers the second, which the probe sends when no answer came.
func TestLostQuerySentAgain(t *testing.T) {
	testenv.RequireIsolatedNetwork(t)
	conn, err := net.ListenPacket("udp", "127.0.0.58:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	go func() {
		buf := make([]byte, 512)
		for n := 0; ; n++ {
			k, from, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			q := new(mdns.Msg)
			if n == 0 || q.Unpack(buf[:k]) != nil {
				continue // the first datagram is lost
			}
			r := new(mdns.Msg)
			r.SetReply(q)
			rr, _ := mdns.NewRR(q.Question[0].Name + " 60 IN A 10.9.9.8")
			r.Answer = append(r.Answer, rr)
			out, _ := r.Pack()
			_, _ = conn.WriteTo(out, from)
		}
	}()
	obs, err := dns.New().Run(context.Background(), probe.Target{Address: "127.0.0.58"}, []probe.Request{{ID: "a",
		Params: &dns.Params{Name: "lost.lab.local", Server: conn.LocalAddr().String(), Timeout: 10 * time.Second}}})
	if err != nil {
		t.Fatal(err)
	}
	if obs[0].Err != nil || !reflect.DeepEqual(obs[0].Values["answers"], []string{"10.9.9.8"}) {
		t.Errorf("err %v values %v", obs[0].Err, obs[0].Values)
	}
}
