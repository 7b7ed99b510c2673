// Package tlspin pins a machine's TLS service (WinRM) to the certificate it
// presented when `tailab up` found it ready: trust on first use, like SSH's
// known_hosts, for lab machines that sign their own certificate. Provisioning
// records the pin, the grader's probes and the scenario's steps check it; the
// helpers live here so that none of them imports another for it.
package tlspin

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
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

// Trust makes conf trust the certificate whose fingerprint is pin and no other,
// whoever signed it: the chain is not verified (lab machines sign their own
// certificate), the pin is the whole trust, as with an SSH host key. The check
// runs on every handshake; a mismatch fails it with a *MismatchError.
func Trust(conf *tls.Config, pin string) {
	want := Normalize(pin)
	conf.InsecureSkipVerify = true //nolint:gosec // replaced by the pin check below
	conf.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
		if len(raw) == 0 {
			return &MismatchError{Want: want}
		}
		if got := Fingerprint(raw[0]); got != want {
			return &MismatchError{Got: got, Want: want}
		}
		return nil
	}
}

// MismatchError is a machine presenting another certificate than the one
// pinned when `tailab up` found it ready: a rebuilt machine (run `tailab up`
// again to pin its new certificate) or someone else answering on its address.
type MismatchError struct {
	Got, Want string // Fingerprint of the presented and pinned certificates; Got is "" when none was presented
}

func (e *MismatchError) Error() string {
	if e.Got == "" {
		return fmt.Sprintf("TLS: the machine presented no certificate (pinned %s)", Short(e.Want))
	}
	return fmt.Sprintf("TLS: the machine's certificate %s is not the one pinned when it came up (%s): "+
		"machine rebuilt since `tailab up`, or another host on its address; run `tailab up` again to pin the new certificate",
		Short(e.Got), Short(e.Want))
}

// Handshake completes a TLS handshake with addr, whatever certificate it
// presents (nothing else is sent), and returns that certificate's Fingerprint.
// It is how a machine is pinned (trust on first use: nothing is trusted yet),
// and how a restarting machine is seen to answer again. The TCP connection
// gets a second; ctx bounds the whole.
func Handshake(ctx context.Context, addr string) (string, error) {
	d := tls.Dialer{
		NetDialer: &net.Dialer{Timeout: time.Second},
		Config:    &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}, //nolint:gosec // trust on first use
	}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	certs := c.(*tls.Conn).ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return "", errors.New("no certificate presented")
	}
	return Fingerprint(certs[0].Raw), nil
}
