// Package tcp is the `tcp` probe: is a TCP port of a lab machine open, as seen from
// the grader?
//
// # Params
//
//	probe:
//	  type: tcp
//	  port: 3389                 # required, 1-65535
//	  host: 10.0.0.5             # optional; default the machine's address
//	  banner: true               # optional: read what the server sends first
//	  send: "HEAD / HTTP/1.0\r\n\r\n"  # optional: send this, then read the reply as banner
//	  timeout: 5s                # optional (default 5s)
//	  closed_on_timeout: true    # optional: a silent (filtered) port counts as closed
//
// # Values
//
//   - open (bool): the connection was accepted
//   - state (string): "open", "closed" (refused) or "filtered" (no answer, only with
//     closed_on_timeout)
//   - latency_ms (float): time to connect (or to be refused)
//   - banner (string): with banner or send, the first bytes the server sent (up to
//     4 KiB, waiting up to the timeout), trailing CR/LF removed
//
// A refused connection is an observation (open: false). A connection attempt that
// gets no answer within the timeout is an `error` (the grader cannot tell a dropped
// SYN from an unreachable machine), unless closed_on_timeout says a silent port is
// what the check expects (a firewall that drops). No route to the host is always an
// error. Each request is one short connection; a batch's are tried together (up
// to Parallel), so dropped packets cost a machine one timeout, not one per check.
package tcp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/internal/yamlx"
)

// Type is the probe's name in suites.
const Type = "tcp"

// DefaultTimeout bounds one connection attempt when neither check nor runner sets one.
const DefaultTimeout = 5 * time.Second

const (
	maxBanner  = 4096
	bannerWait = 2 * time.Second
)

// Params are one check's tcp probe parameters.
type Params struct {
	Port            int           `yaml:"port"`
	Host            string        `yaml:"host"`
	Banner          bool          `yaml:"banner"`
	Send            string        `yaml:"send"`
	Timeout         time.Duration `yaml:"timeout"`
	ClosedOnTimeout bool          `yaml:"closed_on_timeout"`

	Positions yamlx.Positions `yaml:"-"`
}

// Validate reports a missing or out-of-range port.
func (p *Params) Validate(d *yamlx.Decoder, at yamlx.Pos, field string) {
	if p.Port < 1 || p.Port > 65535 {
		msg := "missing port (1-65535)"
		if _, set := p.Positions["port"]; set {
			msg = fmt.Sprintf("port %d out of range 1-65535", p.Port)
		}
		d.Diags.Add(p.Positions.Of("port", at), join(field, "port"), "%s", msg)
	}
	if p.Timeout < 0 {
		d.Diags.Add(p.Positions.Of("timeout", at), join(field, "timeout"), "timeout must be positive")
	}
}

func join(field, key string) string { return probe.JoinField(field, key) }

// Probe is the tcp probe.
type Probe struct{}

var _ probe.Probe = (*Probe)(nil)

// New returns a tcp probe.
func New() *Probe { return &Probe{} }

// Type returns "tcp".
func (*Probe) Type() string { return Type }

// NewParams returns empty tcp parameters.
func (*Probe) NewParams() probe.Params { return &Params{} }

// Parallel is how many ports of a batch are tried at once: a machine whose
// firewall drops packets costs the batch one timeout, not one per check.
const Parallel = 16

// Run tries the requests' ports, up to Parallel at a time.
func (p *Probe) Run(ctx context.Context, t probe.Target, reqs []probe.Request) ([]probe.Observation, error) {
	prms := make([]*Params, len(reqs))
	for i, r := range reqs {
		prm, ok := r.Params.(*Params)
		if !ok || prm == nil {
			return nil, fmt.Errorf("tcp probe: request %q: params are %T, not *tcp.Params", r.ID, r.Params)
		}
		prms[i] = prm
	}
	obs := make([]probe.Observation, len(reqs))
	probe.Each(len(reqs), Parallel, func(i int) { obs[i] = observe(ctx, t, reqs[i], prms[i]) })
	return obs, nil
}

func timeoutOf(p *Params, r probe.Request) time.Duration {
	return probe.Timeout(p.Timeout, r, DefaultTimeout)
}

func observe(ctx context.Context, t probe.Target, r probe.Request, p *Params) probe.Observation {
	o := probe.Observation{ID: r.ID}
	host := p.Host
	if host == "" {
		host = t.Address
	}
	addr := net.JoinHostPort(host, strconv.Itoa(p.Port))
	to := timeoutOf(p, r)
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, to)
	defer cancel()
	start := time.Now()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	latency := time.Since(start)
	o.Duration = latency
	ms := float64(latency.Microseconds()) / 1000
	var ev strings.Builder
	fmt.Fprintf(&ev, "tcp connect %s: ", addr)
	switch {
	case err == nil:
		defer conn.Close()
		o.Values = map[string]any{"open": true, "state": "open", "latency_ms": ms}
		fmt.Fprintf(&ev, "open (%.1f ms)\n", ms)
		if p.Banner || p.Send != "" {
			banner, berr := readBanner(ctx, conn, p.Send)
			o.Values["banner"] = banner
			if p.Send != "" {
				fmt.Fprintf(&ev, "> %q\n", p.Send)
			}
			fmt.Fprintf(&ev, "< %q", banner)
			if berr != nil {
				fmt.Fprintf(&ev, " (%v)", berr)
			}
			ev.WriteString("\n")
		}
		o.Duration = time.Since(start)
	case errors.Is(err, syscall.ECONNREFUSED):
		o.Values = map[string]any{"open": false, "state": "closed", "latency_ms": ms}
		fmt.Fprintf(&ev, "closed: connection refused (%.1f ms)\n", ms)
	case isTimeout(err) && p.ClosedOnTimeout && ownDeadline(parent, start.Add(to)):
		o.Values = map[string]any{"open": false, "state": "filtered", "latency_ms": ms}
		fmt.Fprintf(&ev, "no answer within %s: filtered, counted as closed\n", to)
	default:
		if isTimeout(err) {
			err = fmt.Errorf("no answer within %s: %w", min(to, time.Since(start).Round(time.Millisecond)), err)
		}
		o.Err = fmt.Errorf("tcp %s: %w", addr, err)
		fmt.Fprintf(&ev, "%v\n", err)
	}
	o.Evidence = t.Masker.Mask(ev.String())
	return o
}

// readBanner optionally sends a probe string, then reads what the server says
// until the check's deadline (bannerWait without one): a server that says
// nothing gives an empty banner. A fixed shorter wait made a loaded server's
// late banner (sshd forks and re-executes itself before it greets) an empty
// one, a fail instead of what the server says.
func readBanner(ctx context.Context, conn net.Conn, send string) (string, error) {
	deadline := time.Now().Add(bannerWait)
	if dl, ok := ctx.Deadline(); ok {
		deadline = dl
	}
	_ = conn.SetDeadline(deadline)
	if send != "" {
		if _, err := io.WriteString(conn, send); err != nil {
			return "", fmt.Errorf("send: %w", err)
		}
	}
	buf := make([]byte, maxBanner)
	n, err := io.ReadAtLeast(conn, buf, 1)
	// Take whatever else already arrived, briefly.
	if err == nil && n < maxBanner {
		_ = conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		m, _ := conn.Read(buf[n:])
		n += m
	}
	banner := strings.TrimRight(string(buf[:n]), "\r\n")
	var ne net.Error
	if err != nil && (err == io.EOF || errors.As(err, &ne) && ne.Timeout()) {
		err = nil // silence or a closed connection is a (possibly empty) banner
	}
	return banner, err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// ownDeadline reports whether the request's own timeout (ending at end), not the
// caller's context, cut the attempt: only then does silence mean "filtered".
func ownDeadline(parent context.Context, end time.Time) bool {
	if parent.Err() != nil {
		return false
	}
	dl, ok := parent.Deadline()
	return !ok || !dl.Before(end)
}
