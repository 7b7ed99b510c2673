package tcp_test

import (
	"bufio"
	"context"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/checks/probe/probetest"
	"github.com/tailab/tailab/checks/probe/tcp"
	"github.com/tailab/tailab/internal/testenv"
	"github.com/tailab/tailab/internal/yamlx"
)

func TestMain(m *testing.M) { testenv.RunInNetns(m) }

func serve(t *testing.T, addr string, handle func(net.Conn)) int {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); handle(c) }()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

func TestTCP(t *testing.T) {
	testenv.RequireIsolatedNetwork(t)
	silent := testenv.Blackhole(t)
	host := "127.0.0.5"
	sshLike := serve(t, host+":0", func(c net.Conn) { c.Write([]byte("SSH-2.0-OpenSSH_9.2\r\n")); time.Sleep(time.Second) })
	echo := serve(t, host+":0", func(c net.Conn) {
		l, _ := bufio.NewReader(c).ReadString('\n')
		c.Write([]byte("echo: " + l))
	})
	quiet := serve(t, host+":0", func(c net.Conn) { time.Sleep(3 * time.Second) })
	// A loaded sshd greets late: its banner is still the banner.
	late := serve(t, host+":0", func(c net.Conn) {
		time.Sleep(2500 * time.Millisecond)
		c.Write([]byte("SSH-2.0-OpenSSH_9.2\r\n"))
		time.Sleep(time.Second)
	})
	closed := testenv.FreePort(t, host)
	tg := probe.Target{Machine: "m", Address: host}

	tests := []struct {
		name   string
		p      tcp.Params
		open   any
		state  string
		banner any
		errSub string
	}{
		{"open", tcp.Params{Port: sshLike}, true, "open", nil, ""},
		{"open with banner", tcp.Params{Port: sshLike, Banner: true}, true, "open", "SSH-2.0-OpenSSH_9.2", ""},
		{"send and read", tcp.Params{Port: echo, Send: "ping\n"}, true, "open", "echo: ping", ""},
		{"silent server, empty banner", tcp.Params{Port: quiet, Banner: true, Timeout: time.Second}, true, "open", "", ""},
		{"late banner read within the timeout", tcp.Params{Port: late, Banner: true, Timeout: 10 * time.Second}, true, "open", "SSH-2.0-OpenSSH_9.2", ""},
		{"closed", tcp.Params{Port: closed}, false, "closed", nil, ""},
		{"no answer is an error", tcp.Params{Host: silent, Port: 80, Timeout: 300 * time.Millisecond}, nil, "", nil, "no answer within"},
		{"no answer counted as closed", tcp.Params{Host: silent, Port: 80, Timeout: 300 * time.Millisecond, ClosedOnTimeout: true}, false, "filtered", nil, ""},
		{"no route is an error", tcp.Params{Host: "203.0.113.7", Port: 80, ClosedOnTimeout: true}, nil, "", nil, "unreachable"},
	}
	reqs := make([]probe.Request, len(tests))
	for i := range tests {
		reqs[i] = probe.Request{ID: tests[i].name, Params: &tests[i].p}
	}
	obs, err := tcp.New().Run(context.Background(), tg, reqs)
	if err != nil {
		t.Fatal(err)
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := obs[i]
			if o.ID != tc.name {
				t.Fatalf("ID %q", o.ID)
			}
			if probetest.Err(t, o, tc.errSub) {
				return
			}
			if o.Values["open"] != tc.open || o.Values["state"] != tc.state || o.Values["banner"] != tc.banner {
				t.Errorf("values %v, want open %v state %v banner %q\n%s", o.Values, tc.open, tc.state, tc.banner, o.Evidence)
			}
			if _, ok := o.Values["latency_ms"].(float64); !ok {
				t.Errorf("latency_ms missing: %v", o.Values)
			}
		})
	}
}

func TestRunnerTimeoutAndContext(t *testing.T) {
	silent := testenv.Blackhole(t)
	tg := probe.Target{Address: silent}
	start := time.Now()
	obs, _ := tcp.New().Run(context.Background(), tg, []probe.Request{{ID: "a", Params: &tcp.Params{Port: 22}, Timeout: 200 * time.Millisecond}})
	if obs[0].Err == nil || time.Since(start) > 2*time.Second {
		t.Errorf("runner timeout not honoured: %v after %s", obs[0].Err, time.Since(start))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start = time.Now()
	obs, _ = tcp.New().Run(ctx, tg, []probe.Request{{ID: "b", Params: &tcp.Params{Port: 22, ClosedOnTimeout: true, Timeout: 5 * time.Second}}})
	if obs[0].Err == nil || time.Since(start) > 2*time.Second {
		t.Errorf("ctx deadline not honoured (or a cut wait taken for a filtered port): %v %v after %s", obs[0].Err, obs[0].Values, time.Since(start))
	}
}

func TestParamsValidate(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"port: 22", ""},
		{"host: x", "f.port: missing port"},
		{"port: 70000", "f.port: port 70000 out of range"},
		{"port: ssh", "expected an integer"},
	} {
		n, _ := yamlx.Parse("s.yaml", []byte(tc.yaml))
		d := yamlx.NewDecoder("s.yaml")
		p := tcp.New().NewParams()
		d.Decode(n, p, "f")
		p.Validate(d, yamlx.Pos{File: "s.yaml", Line: 1, Column: 1}, "f")
		got := d.Diags.Error()
		if (tc.want == "") != (len(d.Diags) == 0) || !strings.Contains(got, tc.want) {
			t.Errorf("%q: diagnostics %q, want %q", tc.yaml, got, tc.want)
		}
	}
}

// TestPortsTriedTogether: a server that sends its banner only once it holds
// every connection of the batch is read by all of them, so the probe tries
// the ports at once (one after the other, the first would read nothing).
func TestPortsTriedTogether(t *testing.T) {
	testenv.RequireIsolatedNetwork(t)
	const n = 4
	var mu sync.Mutex
	var held []net.Conn
	all := make(chan struct{})
	port := serve(t, "127.0.0.6:0", func(c net.Conn) {
		mu.Lock()
		held = append(held, c)
		if len(held) == n {
			for _, h := range held {
				h.Write([]byte("READY\r\n"))
			}
			close(all)
		}
		mu.Unlock()
		<-all
		time.Sleep(100 * time.Millisecond)
	})
	reqs := make([]probe.Request, n)
	for i := range reqs {
		reqs[i] = probe.Request{ID: strconv.Itoa(i), Params: &tcp.Params{Port: port, Banner: true}}
	}
	obs, err := tcp.New().Run(context.Background(), probe.Target{Address: "127.0.0.6"}, reqs)
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range obs {
		if o.ID != reqs[i].ID || o.Err != nil || o.Values["banner"] != "READY" {
			t.Errorf("port try %d: id %q err %v values %v", i, o.ID, o.Err, o.Values)
		}
	}
}
