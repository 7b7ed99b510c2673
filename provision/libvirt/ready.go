package libvirt

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
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

// waitReady polls a machine's management address until its readiness check
// passes or its timeout (default 30s for containers, 5m for VMs) runs out.
func waitReady(ctx context.Context, sp *machineSpec) error {
	port, banner := readiness(sp)
	if port == 0 {
		return nil
	}
	timeout := sp.Machine.Ready.Timeout.D()
	if timeout == 0 {
		timeout = 30 * time.Second
		if sp.Type == "qemu" {
			timeout = 5 * time.Minute
		}
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	addr := net.JoinHostPort(sp.Mgmt.String(), strconv.Itoa(port))
	var last error
	for {
		if last = probeReady(ctx, addr, banner); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready after %s (%s): %v", timeout, addr, last)
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
