package libvirt

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/tailab/tailab/internal/tlspin"
)

// readiness returns the port to dial and whether an SSH banner is expected.
func readiness(sp *machineSpec) (port int, banner bool) {
	r := sp.Machine.Ready
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

// pinsTLS reports whether the machine's readiness is its WinRM listener (ready:
// {winrm: true} and no other port): readiness then completes a TLS handshake
// and pins the listener's certificate.
func pinsTLS(sp *machineSpec) bool {
	r := sp.Machine.Ready
	return r.WinRM && r.TCP == 0 && !r.SSH
}

// waitReady polls a machine's management address until its readiness check
// passes or its timeout (default 30s for containers, 5m for VMs) runs out. For
// a WinRM machine it returns the fingerprint of the certificate its listener
// presented (see waitReadyAt).
func waitReady(ctx context.Context, sp *machineSpec) (tlsPin string, err error) {
	port, _ := readiness(sp)
	if port == 0 {
		return "", nil
	}
	return waitReadyAt(ctx, sp, net.JoinHostPort(sp.Mgmt.String(), strconv.Itoa(port)))
}

// waitReadyAt is waitReady on a given address. A WinRM machine is ready once
// its listener completes a TLS handshake (a port that accepts connections is
// not enough: WinRM's HTTPS listener comes after the first logon's script);
// the SHA-256 of the certificate it presents is returned, for the machine's
// state (MachineState.TLSPin), which the grader and the steps trust from then
// on: trust on first use, renewed by every `tailab up`.
func waitReadyAt(ctx context.Context, sp *machineSpec, addr string) (string, error) {
	_, banner := readiness(sp)
	timeout := sp.Machine.Ready.Timeout.D()
	if timeout == 0 {
		timeout = 30 * time.Second
		if sp.Type == "qemu" {
			timeout = 5 * time.Minute
		}
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tlsPin := pinsTLS(sp)
	var last error
	for {
		if tlsPin {
			var pin string
			if pin, last = probeTLS(ctx, addr); last == nil {
				return pin, nil
			}
		} else if last = probeReady(ctx, addr, banner); last == nil {
			return "", nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("not ready after %s (%s): %v", timeout, addr, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func probeReady(ctx context.Context, addr string, banner bool) error {
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

// probeTLS completes a TLS handshake with addr, whatever certificate it
// presents (nothing else is sent), and returns the fingerprint of that
// certificate (tlspin.Fingerprint).
func probeTLS(ctx context.Context, addr string) (string, error) {
	hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	d := tls.Dialer{
		NetDialer: &net.Dialer{Timeout: time.Second},
		// Nothing is trusted yet: this handshake is what pins the certificate.
		Config: &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}, //nolint:gosec // trust on first use
	}
	c, err := d.DialContext(hctx, "tcp", addr)
	if err != nil {
		return "", fmt.Errorf("TLS: %w", err)
	}
	defer c.Close()
	certs := c.(*tls.Conn).ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return "", errors.New("TLS: no certificate presented")
	}
	return tlspin.Fingerprint(certs[0].Raw), nil
}
