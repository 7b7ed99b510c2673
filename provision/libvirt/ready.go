package libvirt

import (
	"context"
	"net"
	"strconv"

	"github.com/tailab/tailab/provision/readiness"
)

// The readiness checks are package readiness's (shared with the terraform
// provider); these adapt them to a machine spec.

// readinessOf returns the port to dial and whether an SSH banner is expected.
func readinessOf(sp *machineSpec) (port int, banner bool) { return readiness.Check(sp.Machine.Ready) }

// waitReady probes a machine's management address until its readiness check
// passes: on each word from the machine (pushed, see pushed.go), else by
// polling (readiness.WaitPushed).
func waitReady(ctx context.Context, sp *machineSpec, pushed <-chan struct{}) (tlsPin string, err error) {
	port, _ := readinessOf(sp)
	if port == 0 {
		return "", nil
	}
	addr := net.JoinHostPort(sp.Mgmt.String(), strconv.Itoa(port))
	return readiness.WaitPushed(ctx, sp.Machine.Ready, sp.Type == "qemu", addr, pushed)
}

// waitReadyAt is waitReady on a given address (readiness.WaitAt).
func waitReadyAt(ctx context.Context, sp *machineSpec, addr string) (string, error) {
	return readiness.WaitAt(ctx, sp.Machine.Ready, sp.Type == "qemu", addr)
}

var probeReady = readiness.Probe
