package ping_test

import (
	"context"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/checks/probe/ping"
	"github.com/tailab/tailab/checks/probe/probetest"
	"github.com/tailab/tailab/internal/secret"
	"github.com/tailab/tailab/internal/testenv"
	"github.com/tailab/tailab/internal/testenv/sshd"
	"github.com/tailab/tailab/internal/yamlx"

	xssh "golang.org/x/crypto/ssh"
)

func TestMain(m *testing.M) { testenv.RunInNetns(m) }

type want struct {
	reachable any
	loss      any
	method    any
	errSub    string
}

func check(t *testing.T, o probe.Observation, w want) {
	t.Helper()
	if probetest.Err(t, o, w.errSub) {
		return
	}
	if o.Values["reachable"] != w.reachable || o.Values["loss"] != w.loss || o.Values["method"] != w.method {
		t.Errorf("values %v, want reachable %v loss %v method %v\n%s", o.Values, w.reachable, w.loss, w.method, o.Evidence)
	}
	if w.reachable == true && !(o.Values["rtt_ms"].(float64) > 0) {
		t.Errorf("rtt_ms %v", o.Values["rtt_ms"])
	}
}

func TestPingFromGrader(t *testing.T) {
	silent := testenv.Blackhole(t)
	l, err := net.Listen("tcp", "127.0.0.8:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	port := l.Addr().(*net.TCPAddr).Port
	tests := []struct {
		name string
		p    ping.Params
		to   time.Duration
		want want
	}{
		{"icmp reachable", ping.Params{Count: 2}, 0, want{true, 0.0, "icmp", ""}},
		{"icmp unreachable", ping.Params{Host: silent, Count: 2}, 0, want{false, 100.0, "icmp", ""}},
		{"no route", ping.Params{Host: "203.0.113.9", Count: 1}, 0, want{false, 100.0, "icmp", ""}},
		{"tcp open port", ping.Params{Method: "tcp", Port: port, Count: 2}, 0, want{true, 0.0, "tcp", ""}},
		{"tcp refused is reachable", ping.Params{Method: "tcp", Port: testenv.FreePort(t, "127.0.0.8"), Count: 1}, 0, want{true, 0.0, "tcp", ""}},
		{"tcp silent", ping.Params{Method: "tcp", Host: silent, Port: 22, Count: 1}, 0, want{false, 100.0, "tcp", ""}},
	}
	reqs := make([]probe.Request, len(tests))
	for i := range tests {
		reqs[i] = probe.Request{ID: tests[i].name, Params: &tests[i].p, Timeout: tests[i].to}
	}
	obs, err := ping.New().Run(context.Background(), probe.Target{Address: "127.0.0.8"}, reqs)
	if err != nil {
		t.Fatal(err)
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { check(t, obs[i], tc.want) })
	}
}

func TestPingDeadlineIsAnError(t *testing.T) {
	silent := testenv.Blackhole(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	obs, _ := ping.New().Run(ctx, probe.Target{Address: silent}, []probe.Request{{ID: "a", Params: &ping.Params{Count: 5}}})
	check(t, obs[0], want{errSub: "cut short"})
	if time.Since(start) > 2*time.Second {
		t.Errorf("took %s", time.Since(start))
	}
}

func TestPingFromVantage(t *testing.T) {
	if _, err := exec.LookPath("ping"); err != nil {
		if _, err := exec.LookPath("busybox"); err != nil {
			testenv.Unavailable(t, "neither ping nor busybox for the vantage machine")
		}
	}
	silent := testenv.Blackhole(t)
	_, keyPEM, pub := sshd.NewClientKey(t)
	srv := sshd.Start(t, sshd.Options{Host: "127.0.0.9", AuthorizedKeys: []xssh.PublicKey{pub}})
	vantage := probe.Target{Machine: "client1", Address: srv.Host, Ports: map[string]int{"ssh": srv.Port},
		Credentials: map[string]probe.Credentials{"ssh": {User: "root", PrivateKey: secret.New(keyPEM)}}}
	p := &ping.Probe{Vantage: func(_ context.Context, from string) (probe.Target, error) {
		if from != "client1" {
			return probe.Target{}, &net.AddrError{Err: "unknown machine", Addr: from}
		}
		return vantage, nil
	}}
	tests := []struct {
		name string
		p    ping.Params
		want want
	}{
		{"reachable from the vantage", ping.Params{From: "client1", Count: 2}, want{true, 0.0, "remote", ""}},
		{"unreachable from the vantage", ping.Params{From: "client1", Host: silent, Count: 1, Timeout: 3 * time.Second}, want{false, 100.0, "remote", ""}},
		{"unknown vantage", ping.Params{From: "client9"}, want{errSub: "unknown machine"}},
	}
	reqs := make([]probe.Request, len(tests))
	for i := range tests {
		reqs[i] = probe.Request{ID: tests[i].name, Params: &tests[i].p}
	}
	before := strings.Count(srv.Log(), "Accepted publickey")
	obs, err := p.Run(context.Background(), probe.Target{Machine: "gw", Address: "127.0.0.1"}, reqs)
	if err != nil {
		t.Fatal(err)
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { check(t, obs[i], tc.want) })
	}
	if n := strings.Count(srv.Log(), "Accepted publickey") - before; n != 1 {
		t.Errorf("%d SSH logins for one vantage, want 1", n)
	}
	// Without a resolver, `from` is an error, not a failure.
	obs, _ = ping.New().Run(context.Background(), probe.Target{Address: "127.0.0.1"}, []probe.Request{{ID: "x", Params: &ping.Params{From: "client1"}}})
	check(t, obs[0], want{errSub: "no vantage resolver"})
}

func TestParamsValidate(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"count: 2\nfrom: client1", ""},
		{"method: udp", "method must be auto, icmp or tcp"},
		{"method: tcp\nfrom: c1", "cannot be used with from"},
		{"count: 1000", "count must be between"},
	} {
		n, _ := yamlx.Parse("s.yaml", []byte(tc.yaml))
		d := yamlx.NewDecoder("s.yaml")
		p := ping.New().NewParams()
		d.Decode(n, p, "f")
		p.Validate(d, yamlx.Pos{File: "s.yaml", Line: 1, Column: 1}, "f")
		got := d.Diags.Error()
		if (tc.want == "") != (len(d.Diags) == 0) || !strings.Contains(got, tc.want) {
			t.Errorf("%q: diagnostics %q, want %q", tc.yaml, got, tc.want)
		}
	}
}
