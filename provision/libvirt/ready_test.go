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
	"github.com/tailab/tailab/provision"
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

// recordedPin is the pin the machine's next recorded state carries.
func recordedPin(t *testing.T, machine string) string {
	t.Helper()
	st, err := provision.OpenState(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutMachine(provision.MachineState{Session: "rdy", Candidate: "c01", Machine: machine, State: provision.StateReady}); err != nil {
		t.Fatal(err)
	}
	ms, err := st.Machines("rdy")
	if err != nil || len(ms) != 1 {
		t.Fatalf("machines %+v, err %v", ms, err)
	}
	return ms[0].TLSPin
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
	if err := waitReadyAt(context.Background(), winrmSpec("dc", 20*time.Second), addr); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 300*time.Millisecond || drop.dropped.Load() != 3 {
		t.Fatalf("ready after %s with %d TCP-only answers: it did not wait for TLS", took, drop.dropped.Load())
	}
	sum := sha256.Sum256(ts.Certificate().Raw)
	if got, want := recordedPin(t, "dc"), hex.EncodeToString(sum[:]); got != want {
		t.Fatalf("recorded pin %q, want the listener's certificate %s", got, want)
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
	err = waitReadyAt(context.Background(), winrmSpec("srv", time.Second), ln.Addr().String())
	if err == nil || !strings.Contains(err.Error(), "not ready after 1s") || !strings.Contains(err.Error(), "TLS") {
		t.Fatalf("err = %v", err)
	}
	if pin := recordedPin(t, "srv"); pin != "" {
		t.Fatalf("pin %q recorded for a machine that never answered TLS", pin)
	}
	tcp := winrmSpec("srv", time.Second)
	tcp.Machine.Ready = labs.Readiness{TCP: 5986, Timeout: labs.Duration(time.Second)}
	if err := waitReadyAt(context.Background(), tcp, ln.Addr().String()); err != nil {
		t.Fatalf("tcp readiness: %v", err)
	}
}
