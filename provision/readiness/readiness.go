// Package readiness waits until a provisioned machine answers on its
// management address as its lab's `ready` says: an SSH banner, a TCP port,
// or a WinRM HTTPS listener completing a TLS handshake (whose certificate is
// then pinned). Both providers use it (libvirt, terraform), so a machine is
// "ready" the same way whoever made it. No cgo.
package readiness

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/tailab/tailab/internal/tlspin"
	"github.com/tailab/tailab/labs"
)

// Check returns the port to dial (0: nothing to wait for) and whether an SSH
// banner is expected.
func Check(r labs.Readiness) (port int, banner bool) {
	switch {
	case r.TCP > 0:
		return r.TCP, r.SSH
	case r.SSH:
		return 22, true
	case r.WinRM:
		return 5986, false
	}
	return 0, false
}

// PinsTLS reports whether the machine's readiness is its WinRM listener
// (ready: {winrm: true} and no other port): readiness then completes a TLS
// handshake and pins the listener's certificate.
func PinsTLS(r labs.Readiness) bool { return r.WinRM && r.TCP == 0 && !r.SSH }

// Timeout is the lab's readiness timeout, else 5m for a VM, 30s for a container.
func Timeout(r labs.Readiness, vm bool) time.Duration {
	if t := r.Timeout.D(); t > 0 {
		return t
	}
	if vm {
		return 5 * time.Minute
	}
	return 30 * time.Second
}

// Wait polls host (a management address) until the readiness check passes
// or the timeout runs out. For a WinRM machine it returns the fingerprint of
// the certificate its listener presented (see WaitAt).
func Wait(ctx context.Context, r labs.Readiness, vm bool, host string) (tlsPin string, err error) {
	port, _ := Check(r)
	if port == 0 {
		return "", nil
	}
	return WaitAt(ctx, r, vm, net.JoinHostPort(host, strconv.Itoa(port)))
}

// WaitAt is Wait on a given address. A WinRM machine is ready once its
// listener completes a TLS handshake (a port that accepts connections is not
// enough: WinRM's HTTPS listener comes after the first logon's script); the
// SHA-256 of the certificate it presents is returned, for the machine's state
// (MachineState.TLSPin), which the grader and the steps trust from then on:
// trust on first use, renewed by every `tailab up`.
func WaitAt(ctx context.Context, r labs.Readiness, vm bool, addr string) (string, error) {
	return WaitPushed(ctx, r, vm, addr, nil)
}

// pushedFallback is how long WaitPushed waits for the machine's first word
// before it polls all the same.
const pushedFallback = time.Second

// WaitPushed is WaitAt for a machine that tells when it may be ready: each
// receive on pushed (the machine wrote something where the host watches) is
// a probe at once. Until the first one, nothing is probed (a probe before the
// machine has its address costs the host a second of ARP, see init.sh), at
// most pushedFallback; after a failed probe it polls as WaitAt does, and
// still probes on every push. A nil pushed is WaitAt.
func WaitPushed(ctx context.Context, r labs.Readiness, vm bool, addr string, pushed <-chan struct{}) (string, error) {
	_, banner := Check(r)
	timeout := Timeout(r, vm)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tlsPin := PinsTLS(r)
	var last error
	if pushed != nil {
		select {
		case <-pushed:
		case <-time.After(pushedFallback):
		case <-ctx.Done():
			return "", fmt.Errorf("not ready after %s (%s): nothing heard from the machine", timeout, addr)
		}
	}
	for {
		if tlsPin {
			var pin string
			if pin, last = ProbeTLS(ctx, addr); last == nil {
				return pin, nil
			}
		} else if last = Probe(ctx, addr, banner); last == nil {
			return "", nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("not ready after %s (%s): %v", timeout, addr, last)
		case <-pushed:
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Probe dials addr once and, when banner is set, reads an SSH banner.
func Probe(ctx context.Context, addr string, banner bool) error {
	d := net.Dialer{Timeout: time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if !banner {
		return nil
	}
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return fmt.Errorf("no SSH banner: %w", err)
	}
	if !strings.HasPrefix(line, "SSH-") {
		return fmt.Errorf("not an SSH banner: %q", strings.TrimSpace(line))
	}
	return nil
}

// ProbeTLS is tlspin.Handshake within 5 seconds: the fingerprint of the
// certificate addr presents, which this handshake pins (nothing is trusted
// yet).
func ProbeTLS(ctx context.Context, addr string) (string, error) {
	hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	pin, err := tlspin.Handshake(hctx, addr)
	if err != nil {
		return "", fmt.Errorf("TLS: %w", err)
	}
	return pin, nil
}
