// Package sshpin checks a machine's SSH host key against the one tailab
// generated for it and pinned at `tailab up` (provision.MachineState.SSHHostKey,
// probe.Target.SSHHostKey). The grader's ssh probe, the scenario's steps and
// the gateway check it alike; it lives here so that none imports another.
package sshpin

import (
	"errors"
	"fmt"
	"net"

	"golang.org/x/crypto/ssh"
)

// ErrMismatch: a machine presented another host key than the pinned one.
var ErrMismatch = errors.New("SSH host key mismatch")

// Check compares a presented key with the pinned fingerprint ("SHA256:...");
// a mismatch names both, the expected one first.
func Check(pinned string, key ssh.PublicKey) error {
	if got := ssh.FingerprintSHA256(key); got != pinned {
		return fmt.Errorf("%w: expected %s (pinned at `tailab up`), presented %s", ErrMismatch, pinned, got)
	}
	return nil
}

// Callback is an ssh.HostKeyCallback accepting the pinned key only.
func Callback(pinned string) ssh.HostKeyCallback {
	return func(_ string, _ net.Addr, key ssh.PublicKey) error { return Check(pinned, key) }
}
