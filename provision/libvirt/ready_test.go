package libvirt

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tailab/tailab/labs"
)

// dropFirst is a listener whose first n connections are accepted and closed
// at once: a port that answers TCP before its TLS service runs (Windows'
// WinRM listener before the first logon's script made it HTTPS).
type dropFirst struct {
	net.Listener
	n       int32
	dropped atomic.Int32
}

func (l *dropFirst) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil || l.dropped.Load() >= l.n {
			return c, err
		}
		l.dropped.Add(1)
		c.Close()
	}
}

// freeAddr returns a loopback address nothing listens on (yet).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func winrmSpec(machine string, timeout time.Duration) *machineSpec {
	return &machineSpec{Session: "rdy", Candidate: "c01", Type: "qemu", Machine: labs.Machine{
		Name: machine, OS: labs.OSWindows, Ready: labs.Readiness{WinRM: true, Timeout: labs.Duration(timeout)}}}
}

// Readiness of a WinRM machine waits through "connection refused" and a port
// that accepts TCP but no TLS, until a TLS handshake completes, and pins the
// certificate the listener presented.
func TestWinRMReadinessPinsCertificate(t *testing.T) {
	addr := freeAddr(t)
	ts := httptest.NewUnstartedServer(http.NotFoundHandler())
	t.Cleanup(ts.Close)
	drop := &dropFirst{n: 3}
	go func() {
		time.Sleep(300 * time.Millisecond) // connection refused meanwhile
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Error(err)
			return
		}
		drop.Listener = ln
		ts.Listener.Close() // httptest's own, replaced
		ts.Listener = drop
		ts.StartTLS()
	}()
	start := time.Now()
	pin, err := waitReadyAt(context.Background(), winrmSpec("dc", 20*time.Second), addr)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 300*time.Millisecond || drop.dropped.Load() != 3 {
		t.Fatalf("ready after %s with %d TCP-only answers: it did not wait for TLS", took, drop.dropped.Load())
	}
	sum := sha256.Sum256(ts.Certificate().Raw)
	if want := hex.EncodeToString(sum[:]); pin != want {
		t.Fatalf("pin %q, want the listener's certificate %s", pin, want)
	}
}

// A port that never completes a TLS handshake is not ready, and no pin is
// recorded; a TCP readiness check on the same port passes.
func TestWinRMReadinessNeedsTLS(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	drop := &dropFirst{Listener: ln, n: 1 << 30}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			if _, err := drop.Accept(); err != nil {
				return
			}
		}
	}()
	pin, err := waitReadyAt(context.Background(), winrmSpec("srv", time.Second), ln.Addr().String())
	if err == nil || !strings.Contains(err.Error(), "not ready after 1s") || !strings.Contains(err.Error(), "TLS") {
		t.Fatalf("err = %v", err)
	}
	if pin != "" {
		t.Fatalf("pin %q for a machine that never answered TLS", pin)
	}
	tcp := winrmSpec("srv", time.Second)
	tcp.Machine.Ready = labs.Readiness{TCP: 5986, Timeout: labs.Duration(time.Second)}
	if pin, err := waitReadyAt(context.Background(), tcp, ln.Addr().String()); err != nil || pin != "" {
		t.Fatalf("tcp readiness: pin %q, %v", pin, err)
	}
}
