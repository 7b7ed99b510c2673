package readiness

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tailab/tailab/labs"
)

// sshLike serves an SSH banner on loopback and counts the connections.
func sshLike(t *testing.T) (string, *atomic.Int32) {
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
			_, _ = c.Write([]byte("SSH-2.0-test\r\n"))
			c.Close()
		}
	}()
	return ln.Addr().String(), &n
}

// A machine that says it may be ready is probed then, and only then; one
// that says nothing is polled all the same once the fallback ran out; one
// that says so too early is polled until it is.
func TestWaitPushed(t *testing.T) {
	r := labs.Readiness{SSH: true, Timeout: labs.Duration(30 * time.Second)}
	ctx := context.Background()

	t.Run("pushed", func(t *testing.T) {
		addr, n := sshLike(t)
		pushed := make(chan struct{}, 1)
		pushed <- struct{}{}
		if _, err := WaitPushed(ctx, r, false, addr, pushed); err != nil {
			t.Fatal(err)
		}
		if got := n.Load(); got != 1 {
			t.Errorf("%d probes, want exactly 1 (on the push)", got)
		}
	})
	t.Run("silent machine: polled after the fallback", func(t *testing.T) {
		addr, n := sshLike(t)
		if _, err := WaitPushed(ctx, r, false, addr, make(chan struct{})); err != nil {
			t.Fatal(err)
		}
		if n.Load() != 1 {
			t.Errorf("%d probes, want 1", n.Load())
		}
	})
	t.Run("pushed too early: polled until it listens", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close() // refused until the server below listens
		pushed := make(chan struct{}, 1)
		pushed <- struct{}{}
		go func() {
			time.Sleep(300 * time.Millisecond)
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return
			}
			defer ln.Close()
			c, err := ln.Accept()
			if err == nil {
				_, _ = c.Write([]byte("SSH-2.0-late\r\n"))
				c.Close()
			}
		}()
		if _, err := WaitPushed(ctx, r, false, addr, pushed); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("nothing ever: not ready, said so", func(t *testing.T) {
		short := labs.Readiness{SSH: true, Timeout: labs.Duration(300 * time.Millisecond)}
		_, err := WaitPushed(ctx, short, false, freeAddr(t), make(chan struct{}))
		if err == nil {
			t.Fatal("ready without a listener")
		}
	})
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
