package libvirt

import (
	"context"

	"github.com/tailab/tailab/provision/readiness"
)

// The readiness checks are package readiness's (shared with the terraform
// provider); these adapt them to a machine spec.

// readinessOf returns the port to dial and whether an SSH banner is expected.
func readinessOf(sp *machineSpec) (port int, banner bool) { return readiness.Check(sp.Machine.Ready) }

// waitReady polls a machine's management address until its readiness check
// passes (readiness.Wait).
func waitReady(ctx context.Context, sp *machineSpec) (tlsPin string, err error) {
	return readiness.Wait(ctx, sp.Machine.Ready, sp.Type == "qemu", sp.Mgmt.String())
}

// waitReadyAt is waitReady on a given address (readiness.WaitAt).
func waitReadyAt(ctx context.Context, sp *machineSpec, addr string) (string, error) {
	return readiness.WaitAt(ctx, sp.Machine.Ready, sp.Type == "qemu", addr)
}

var probeReady = readiness.Probe
