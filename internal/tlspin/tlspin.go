// Package tlspin pins a machine's TLS service (WinRM) to the certificate it
// presented when `tailab up` found it ready: trust on first use, like SSH's
// known_hosts, for lab machines that sign their own certificate. Provisioning
// records the pin, the grader's probes and the scenario's steps check it; the
// helpers live here so that none of them imports another for it.
package tlspin

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Fingerprint is the SHA-256 of a certificate's DER encoding, in lower-case
// hexadecimal: the form a pin is stored in (probe.Target.TLSPin,
// provision.MachineState.TLSPin).
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// Normalize returns a fingerprint in Fingerprint's form: lower-case, without
// the separators (':' or spaces) and "sha256:" prefix other tools print.
func Normalize(pin string) string {
	pin = strings.ToLower(strings.TrimSpace(pin))
	pin = strings.TrimPrefix(pin, "sha256:")
	return strings.NewReplacer(":", "", " ", "").Replace(pin)
}

// Short is the beginning of a fingerprint, for messages: "sha256:0a1b2c3d4e5f6a7b…".
func Short(pin string) string {
	pin = Normalize(pin)
	if len(pin) > 16 {
		pin = pin[:16] + "…"
	}
	return "sha256:" + pin
}
