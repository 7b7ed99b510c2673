package libvirtd

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// DialContext connects to addr (an IP literal and port: no name resolution)
// from inside the daemon's network namespace, where its bridges and guests
// live. The socket is created on an OS thread moved into the namespace and
// moved back; the connection then works from any goroutine.
func (d *Daemon) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s in netns %s: %w", addr, d.Netns, err)
	}
	if net.ParseIP(host) == nil {
		return nil, fmt.Errorf("dial %s in netns %s: host must be an IP address", addr, d.Netns)
	}
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		c, err := d.dialLocked(ctx, network, addr)
		ch <- result{c, err}
	}()
	r := <-ch
	return r.c, r.err
}

func (d *Daemon) dialLocked(ctx context.Context, network, addr string) (net.Conn, error) {
	runtime.LockOSThread()
	restored := false
	// A thread that could not return to its namespace is left locked: the
	// runtime ends it with the goroutine.
	defer func() {
		if restored {
			runtime.UnlockOSThread()
		}
	}()
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		return nil, fmt.Errorf("dial in netns %s: %w", d.Netns, err)
	}
	defer orig.Close()
	target, err := os.Open("/run/netns/" + d.Netns)
	if err != nil {
		restored = true
		return nil, fmt.Errorf("dial in netns %s: %w", d.Netns, err)
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		restored = true
		return nil, fmt.Errorf("dial in netns %s: setns: %w", d.Netns, err)
	}
	var dialer net.Dialer
	c, dialErr := dialer.DialContext(ctx, network, addr)
	if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err == nil {
		restored = true
	}
	if dialErr != nil {
		return nil, fmt.Errorf("dial %s in netns %s: %w", addr, d.Netns, dialErr)
	}
	return c, nil
}

// WaitTCP waits until addr accepts TCP connections from inside the daemon's
// network namespace; it returns how long that took.
func (d *Daemon) WaitTCP(ctx context.Context, addr string, timeout time.Duration) (time.Duration, error) {
	t0 := time.Now()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		actx, acancel := context.WithTimeout(ctx, 500*time.Millisecond)
		c, err := d.DialContext(actx, "tcp", addr)
		acancel()
		if err == nil {
			c.Close()
			return time.Since(t0), nil
		}
		select {
		case <-ctx.Done():
			return time.Since(t0), fmt.Errorf("%s not accepting connections after %s: %w", addr, timeout, err)
		case <-time.After(25 * time.Millisecond):
		}
	}
}
