// Package ping is the `ping` probe: is a machine reachable, how fast, how lossy?
//
// By default the grader itself pings (ICMP echo, through an unprivileged ICMP socket
// when net.ipv4.ping_group_range allows it, else a raw socket, which needs root or
// CAP_NET_RAW; when neither can be opened, "auto" falls back to TCP: a connection
// accepted or refused on `port` is an answer).
//
// With `from`, the ping runs on another lab machine (a vantage), e.g. "can the client
// reach the gateway?" or "is VLAN 20 unreachable from VLAN 10?". The grader core
// resolves the machine name to a Target (Probe.Vantage); the probe then runs the
// machine's own `ping` (iputils or busybox) through its shell probe (ssh by default),
// all the checks of one vantage in one SSH batch.
//
// # Params
//
//	probe:
//	  type: ping
//	  host: 10.0.0.1        # optional: what to ping; default the check's machine's address
//	  from: client1         # optional: vantage machine (default: the grader)
//	  count: 3              # echoes to send (default 3)
//	  method: auto          # auto (default), icmp or tcp (grader only)
//	  port: 22              # for tcp (default the target's ssh port, 22)
//	  timeout: 5s           # the whole request (default count + 2 seconds)
//
// # Values
//
//   - reachable (bool): at least one answer came back
//   - rtt_ms (float): average round-trip time of the answers (0 when none)
//   - loss (float): percentage of echoes lost, 0-100
//   - sent, received (int)
//   - method (string): icmp, tcp or "remote" (from a vantage)
//
// An unreachable host is an observation (reachable: false, loss: 100). Errors are for
// when the probe cannot ping at all: no socket, a vantage that cannot be resolved or
// reached, no ping command on it, or the caller's deadline cutting the run short.
package ping

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/internal/yamlx"
)

// Type is the probe's name in suites.
const Type = "ping"

// DefaultCount is the number of echoes when the check does not say.
const DefaultCount = 3

// echoWait is how long one echo waits for its answer.
const echoWait = time.Second

// Params are one check's ping probe parameters.
type Params struct {
	Host    string        `yaml:"host"`
	From    string        `yaml:"from"`
	Count   int           `yaml:"count"`
	Method  string        `yaml:"method"`
	Port    int           `yaml:"port"`
	Timeout time.Duration `yaml:"timeout"`

	Positions yamlx.Positions `yaml:"-"`
}

// Validate checks count, method and port.
func (p *Params) Validate(d *yamlx.Decoder, at yamlx.Pos, field string) {
	bad := func(key, format string, args ...any) {
		d.Diags.Add(p.Positions.Of(key, at), join(field, key), format, args...)
	}
	if p.Count < 0 || p.Count > 100 {
		bad("count", "count must be between 1 and 100")
	}
	switch p.Method {
	case "", "auto", "icmp":
	case "tcp":
		if p.From != "" {
			bad("method", "method tcp pings from the grader; it cannot be used with from")
		}
	default:
		bad("method", "method must be auto, icmp or tcp, not %q", p.Method)
	}
	if p.Port < 0 || p.Port > 65535 {
		bad("port", "port %d out of range 1-65535", p.Port)
	}
	if p.Timeout < 0 {
		bad("timeout", "timeout must be positive")
	}
}

func join(field, key string) string { return probe.JoinField(field, key) }

// VantageFunc resolves a `from` machine name to the target to ping from.
type VantageFunc func(ctx context.Context, from string) (probe.Target, error)

// Probe is the ping probe.
type Probe struct {
	// Vantage resolves `from`; nil makes every check with `from` an error.
	Vantage VantageFunc
	// Shell runs commands on a vantage (default: an ssh probe with its default
	// host-key policy). It must accept *ssh.Params (see ShellParams).
	Shell probe.Probe
	// ShellParams builds the shell probe's params for a command.
	ShellParams func(command string, timeout time.Duration) probe.Params
}

var _ probe.Probe = (*Probe)(nil)

// New returns a ping probe that pings from the grader (and from vantages once the
// grader core sets Vantage).
func New() *Probe { return &Probe{} }

// Type returns "ping".
func (*Probe) Type() string { return Type }

// NewParams returns empty ping parameters.
func (*Probe) NewParams() probe.Params { return &Params{} }

func timeoutOf(p *Params, r probe.Request, count int) time.Duration {
	t := p.Timeout
	if r.Timeout > 0 && (t == 0 || r.Timeout < t) {
		t = r.Timeout
	}
	if t <= 0 {
		t = time.Duration(count+2) * time.Second
	}
	return t
}

// result is one ping run's figures.
type result struct {
	sent, received int
	rttTotal       time.Duration // sum over answers (local) ...
	avg            float64       // ... or the average reported by a remote ping
	method         string
}

func (r result) values() map[string]any {
	avg := r.avg
	if r.received > 0 && r.rttTotal > 0 {
		avg = float64(r.rttTotal.Microseconds()) / 1000 / float64(r.received)
	}
	loss := 100.0
	if r.sent > 0 {
		loss = float64(r.sent-r.received) * 100 / float64(r.sent)
	}
	return map[string]any{"reachable": r.received > 0, "rtt_ms": avg, "loss": loss,
		"sent": r.sent, "received": r.received, "method": r.method}
}

// Run pings for each request: locally in turn, and from each vantage in one batch.
func (p *Probe) Run(ctx context.Context, t probe.Target, reqs []probe.Request) ([]probe.Observation, error) {
	obs := make([]probe.Observation, len(reqs))
	remote := map[string][]int{}
	var order []string
	for i, r := range reqs {
		prm, ok := r.Params.(*Params)
		if !ok || prm == nil {
			return nil, fmt.Errorf("ping probe: request %q: params are %T, not *ping.Params", r.ID, r.Params)
		}
		if prm.From != "" {
			if _, seen := remote[prm.From]; !seen {
				order = append(order, prm.From)
			}
			remote[prm.From] = append(remote[prm.From], i)
			continue
		}
		obs[i] = p.local(ctx, t, r, prm)
	}
	for _, from := range order {
		p.fromVantage(ctx, t, from, reqs, remote[from], obs)
	}
	return obs, nil
}

func (p *Probe) local(ctx context.Context, t probe.Target, r probe.Request, prm *Params) probe.Observation {
	o := probe.Observation{ID: r.ID}
	host := prm.Host
	if host == "" {
		host = t.Address
	}
	count := prm.Count
	if count == 0 {
		count = DefaultCount
	}
	to := timeoutOf(prm, r, count)
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, to)
	defer cancel()
	var ev strings.Builder
	start := time.Now()
	var res result
	var err error
	method := prm.Method
	if method == "" || method == "auto" || method == "icmp" {
		res, err = pingICMP(ctx, host, count, &ev)
		if err != nil && method != "icmp" && errors.Is(err, errNoSocket) {
			fmt.Fprintf(&ev, "%v; falling back to TCP\n", err)
			method = "tcp"
		}
	}
	if method == "tcp" {
		port := prm.Port
		if port == 0 {
			port = t.Port("ssh", 22)
		}
		res, err = pingTCP(ctx, host, port, count, &ev)
	}
	o.Duration = time.Since(start)
	if err == nil && expired(parent) {
		err = fmt.Errorf("cut short: %w", parent.Err())
	}
	if err != nil {
		o.Err = fmt.Errorf("ping %s: %w", host, err)
		fmt.Fprintf(&ev, "! %v\n", err)
	} else {
		o.Values = res.values()
		fmt.Fprintf(&ev, "%d sent, %d received, %.0f%% loss, rtt avg %.3f ms\n", res.sent, res.received, o.Values["loss"], o.Values["rtt_ms"])
	}
	o.Evidence = t.Masker.Mask(ev.String())
	return o
}

var errNoSocket = errors.New("no ICMP socket")

// pingICMP sends count echoes, one at a time, each waiting up to echoWait.
func pingICMP(ctx context.Context, host string, count int, ev *strings.Builder) (result, error) {
	res := result{method: "icmp"}
	ip, err := resolve(ctx, host)
	if err != nil {
		return res, err
	}
	v6 := ip.To4() == nil
	nets := [][2]string{{"udp4", "0.0.0.0"}, {"ip4:icmp", "0.0.0.0"}}
	proto := 1
	var echoType, replyType icmp.Type = ipv4.ICMPTypeEcho, ipv4.ICMPTypeEchoReply
	if v6 {
		nets = [][2]string{{"udp6", "::"}, {"ip6:ipv6-icmp", "::"}}
		proto = 58
		echoType, replyType = ipv6.ICMPTypeEchoRequest, ipv6.ICMPTypeEchoReply
	}
	var conn *icmp.PacketConn
	var errs []string
	for _, n := range nets {
		conn, err = icmp.ListenPacket(n[0], n[1])
		if err == nil {
			break
		}
		errs = append(errs, fmt.Sprintf("%s: %v", n[0], err))
	}
	if conn == nil {
		return res, fmt.Errorf("%w (%s)", errNoSocket, strings.Join(errs, "; "))
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.SetReadDeadline(time.Now()) })
	defer stop()
	var dst net.Addr = &net.IPAddr{IP: ip}
	if _, udp := conn.LocalAddr().(*net.UDPAddr); udp {
		dst = &net.UDPAddr{IP: ip}
	}
	fmt.Fprintf(ev, "PING %s (%s) from the grader, %d echoes\n", host, ip, count)
	token := make([]byte, 16)
	_, _ = rand.Read(token)
	id := os.Getpid() & 0xffff
	buf := make([]byte, 1500)
	for seq := 0; seq < count; seq++ {
		if expired(ctx) {
			break
		}
		msg := icmp.Message{Type: echoType, Body: &icmp.Echo{ID: id, Seq: seq, Data: token}}
		wb, err := msg.Marshal(nil)
		if err != nil {
			return res, err
		}
		sent := time.Now()
		res.sent++
		if _, err := conn.WriteTo(wb, dst); err != nil {
			fmt.Fprintf(ev, "seq=%d: %v\n", seq, unwrapSys(err))
			sleepCtx(ctx, echoWait)
			continue
		}
		deadline := sent.Add(echoWait)
		if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
			deadline = dl
		}
		_ = conn.SetReadDeadline(deadline)
		got := false
		for !got {
			n, _, err := conn.ReadFrom(buf)
			if err != nil {
				break
			}
			rm, err := icmp.ParseMessage(proto, buf[:n])
			if err != nil || rm.Type != replyType {
				continue
			}
			if e, ok := rm.Body.(*icmp.Echo); ok && e.Seq == seq && string(e.Data) == string(token) {
				rtt := time.Since(sent)
				res.received++
				res.rttTotal += rtt
				fmt.Fprintf(ev, "seq=%d: reply in %.3f ms\n", seq, float64(rtt.Microseconds())/1000)
				got = true
			}
		}
		if !got {
			fmt.Fprintf(ev, "seq=%d: no reply\n", seq)
		} else if seq < count-1 {
			sleepCtx(ctx, 200*time.Millisecond-time.Since(sent))
		}
	}
	return res, nil
}

// pingTCP connects count times: accepted or refused both prove the host is there.
func pingTCP(ctx context.Context, host string, port, count int, ev *strings.Builder) (result, error) {
	res := result{method: "tcp"}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	fmt.Fprintf(ev, "TCP ping %s, %d attempts\n", addr, count)
	for i := 0; i < count && !expired(ctx); i++ {
		res.sent++
		actx, cancel := context.WithTimeout(ctx, echoWait)
		start := time.Now()
		var d net.Dialer
		c, err := d.DialContext(actx, "tcp", addr)
		rtt := time.Since(start)
		cancel()
		switch {
		case err == nil:
			c.Close()
			fallthrough
		case errors.Is(err, syscall.ECONNREFUSED):
			res.received++
			res.rttTotal += rtt
			fmt.Fprintf(ev, "#%d: answered in %.3f ms\n", i, float64(rtt.Microseconds())/1000)
		default:
			fmt.Fprintf(ev, "#%d: %v\n", i, unwrapSys(err))
		}
	}
	return res, nil
}

func resolve(ctx context.Context, host string) (net.IP, error) {
	if ip := net.ParseIP(host); ip != nil {
		return ip, nil
	}
	ips, err := net.DefaultResolver.LookupIP(ctx, "ip", host)
	if err != nil {
		return nil, fmt.Errorf("resolve: %w", err)
	}
	for _, ip := range ips {
		if ip.To4() != nil {
			return ip, nil
		}
	}
	return ips[0], nil
}

func sleepCtx(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

func unwrapSys(err error) error {
	var se *os.SyscallError
	if errors.As(err, &se) {
		return se.Err
	}
	return err
}

// expired reports whether ctx is done or its deadline has passed (a socket deadline
// set to it may fire a moment before the context's own timer).
func expired(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}
