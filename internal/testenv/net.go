package testenv

import (
	"io"
	"net"
	"os/exec"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// CountingProxy listens on 127.0.0.1, forwards every TCP connection to backend
// and counts them: how tests prove a probe uses one connection per batch.
func CountingProxy(t testing.TB, backend string) (addr string, conns *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var n atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			go forward(c, backend)
		}
	}()
	return ln.Addr().String(), &n
}

// forward copies c to and from a new connection to backend until either closes.
func forward(c net.Conn, backend string) {
	defer c.Close()
	b, err := net.Dial("tcp", backend)
	if err != nil {
		return
	}
	defer b.Close()
	go func() { _, _ = io.Copy(b, c); b.Close() }()
	_, _ = io.Copy(c, b)
}

// LateProxy listens on addr once delay has passed and forwards every connection
// to backend: a machine whose service answers once it has booted (or
// restarted). Until then, addr refuses connections.
func LateProxy(t testing.TB, addr, backend string, delay time.Duration) {
	t.Helper()
	var mu sync.Mutex
	var ln net.Listener
	done := make(chan struct{})
	t.Cleanup(func() {
		close(done)
		mu.Lock()
		if ln != nil {
			ln.Close()
		}
		mu.Unlock()
	})
	go func() {
		select {
		case <-time.After(delay):
		case <-done:
			return
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Errorf("late listener: %v", err)
			return
		}
		mu.Lock()
		ln = l
		mu.Unlock()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go forward(c, backend)
		}
	}()
}

// SilentListener accepts TCP connections on 127.0.0.1 and never answers: a
// service that hangs, for timeout tests.
func SilentListener(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	return ln.Addr().String()
}

// Blackhole adds, in the test's own network namespace, a veth pair with
// 192.0.2.1/24 (TEST-NET-1) on one end and a static neighbour entry for
// 192.0.2.99, and returns that address: packets to it leave by the veth and
// vanish, without any answer (neither refused nor unreachable).
func Blackhole(t testing.TB) string {
	t.Helper()
	RequireIsolatedNetwork(t)
	for _, args := range [][]string{
		{"link", "add", "name", "tlbh0", "type", "veth", "peer", "name", "tlbh1"},
		{"addr", "add", "192.0.2.1/24", "dev", "tlbh0"},
		{"link", "set", "tlbh0", "up"},
		{"link", "set", "tlbh1", "up"},
		{"neigh", "replace", "192.0.2.99", "lladdr", "02:00:00:00:00:99", "dev", "tlbh0", "nud", "permanent"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v %s", args, err, out)
		}
	}
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", "tlbh0").Run() })
	return "192.0.2.99"
}
