package gateway

import (
	"fmt"
	"net"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// listenIn opens a TCP listener in the network namespace at nsPath (a
// /proc/PID/ns/net or a bind-mounted one), or in the process's own when
// nsPath is "". A gateway run inside a private daemon's namespace, where the
// machines are, thus answers on the host's own loopback without any bridge
// or address in the host's namespace: a socket stays in the namespace it was
// created in, whichever thread later accepts on it.
func listenIn(nsPath, addr string) (net.Listener, error) {
	if nsPath == "" {
		return net.Listen("tcp", addr)
	}
	type result struct {
		ln  net.Listener
		err error
	}
	done := make(chan result, 1)
	go func() {
		// The thread is never unlocked: it ends with this goroutine, so no
		// other goroutine ever runs in the other namespace.
		runtime.LockOSThread()
		ns, err := os.Open(nsPath)
		if err != nil {
			done <- result{err: fmt.Errorf("network namespace: %w", err)}
			return
		}
		defer ns.Close()
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
			done <- result{err: fmt.Errorf("enter the network namespace %s: %w", nsPath, err)}
			return
		}
		ln, err := net.Listen("tcp", addr)
		done <- result{ln, err}
	}()
	r := <-done
	return r.ln, r.err
}
