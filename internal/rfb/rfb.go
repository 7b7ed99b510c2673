// Package rfb is the client half of the RFB protocol (RFC 6143) tailab
// needs: the version, VNC authentication with a console's password, the
// server's reasons. The gateway logs in with it to a VM's console before
// relaying it to the browser; the libvirt provider's tests log in with it to
// prove a console asks for its own password.
package rfb

import (
	"crypto/des"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"slices"
)

// Security types.
const (
	SecInvalid = 0
	SecNone    = 1
	SecVNCAuth = 2
)

// ErrRefused is a VNC server refusing the console password.
var ErrRefused = errors.New("the VNC server refused the console password")

// ReadVersion reads a ProtocolVersion message ("RFB 003.008\n") and
// returns its minor version (3, 7 or 8: the 3.x versions spoken here).
func ReadVersion(r io.Reader) (int, error) {
	b := make([]byte, 12)
	if _, err := io.ReadFull(r, b); err != nil {
		return 0, fmt.Errorf("read RFB version: %w", err)
	}
	var major, minor int
	if n, err := fmt.Sscanf(string(b), "RFB %03d.%03d\n", &major, &minor); n != 2 || err != nil || b[11] != '\n' {
		return 0, fmt.Errorf("not an RFB version: %q", b)
	}
	switch {
	case major > 3 || (major == 3 && minor >= 8):
		return 8, nil // later versions speak 3.8 to a 3.8 peer
	case major == 3 && minor == 7:
		return 7, nil
	case major == 3 && minor >= 3:
		return 3, nil // 3.3 and vendors' 3.4-3.6
	}
	return 0, fmt.Errorf("RFB version %d.%d is not supported", major, minor)
}

// response is VNC authentication's answer to a 16-byte challenge: the
// challenge encrypted with DES, keyed by the password's first 8 bytes with
// each byte's bits reversed (RFC 6143 7.2.2 and the reference code).
func response(challenge []byte, password string) ([]byte, error) {
	key := make([]byte, 8)
	copy(key, password)
	for i := range key {
		key[i] = bits.Reverse8(key[i])
	}
	block, err := des.NewCipher(key)
	if err != nil {
		return nil, err
	}
	resp := make([]byte, 16)
	block.Encrypt(resp[:8], challenge[:8])
	block.Encrypt(resp[8:], challenge[8:])
	return resp, nil
}

// ReadReason reads a failure reason (a length, then text), bounded.
func ReadReason(r io.Reader) string {
	var l [4]byte
	if _, err := io.ReadFull(r, l[:]); err != nil {
		return "(no reason given)"
	}
	msg := make([]byte, min(binary.BigEndian.Uint32(l[:]), 1024))
	_, _ = io.ReadFull(r, msg)
	return string(msg)
}

// Login is the client's half of the handshake with a VM's VNC server, up to
// and without ClientInit: the version (3.8 or the server's older one), then
// VNC authentication with password, or None when the server asks for no
// password; it returns the security type used (SecVNCAuth or SecNone). It
// never writes the password itself, only the DES response.
func Login(rw io.ReadWriter, password string) (byte, error) {
	minor, err := ReadVersion(rw)
	if err != nil {
		return 0, err
	}
	if _, err := fmt.Fprintf(rw, "RFB 003.%03d\n", minor); err != nil {
		return 0, err
	}
	var types []byte
	if minor >= 7 {
		var n [1]byte
		if _, err := io.ReadFull(rw, n[:]); err != nil {
			return 0, fmt.Errorf("read security types: %w", err)
		}
		if n[0] == 0 {
			return 0, fmt.Errorf("the VNC server refused the connection: %s", ReadReason(rw))
		}
		types = make([]byte, n[0])
		if _, err := io.ReadFull(rw, types); err != nil {
			return 0, fmt.Errorf("read security types: %w", err)
		}
	} else {
		var t [4]byte
		if _, err := io.ReadFull(rw, t[:]); err != nil {
			return 0, fmt.Errorf("read security type: %w", err)
		}
		if binary.BigEndian.Uint32(t[:]) == SecInvalid {
			return 0, fmt.Errorf("the VNC server refused the connection: %s", ReadReason(rw))
		}
		types = []byte{byte(binary.BigEndian.Uint32(t[:]))}
	}
	var chosen byte
	switch {
	case slices.Contains(types, SecVNCAuth):
		chosen = SecVNCAuth
	case slices.Contains(types, SecNone):
		chosen = SecNone
	default:
		return 0, fmt.Errorf("the VNC server offers no security type tailab speaks (types %v)", types)
	}
	if minor >= 7 {
		if _, err := rw.Write([]byte{chosen}); err != nil {
			return 0, err
		}
	}
	if chosen == SecNone && minor < 8 {
		return chosen, nil // no SecurityResult before 3.8
	}
	if chosen == SecVNCAuth {
		challenge := make([]byte, 16)
		if _, err := io.ReadFull(rw, challenge); err != nil {
			return 0, fmt.Errorf("read VNC challenge: %w", err)
		}
		resp, err := response(challenge, password)
		if err != nil {
			return 0, err
		}
		if _, err := rw.Write(resp); err != nil {
			return 0, err
		}
	}
	var res [4]byte
	if _, err := io.ReadFull(rw, res[:]); err != nil {
		return 0, fmt.Errorf("read security result: %w", err)
	}
	if binary.BigEndian.Uint32(res[:]) != 0 {
		if minor >= 8 {
			return 0, fmt.Errorf("%w: %s", ErrRefused, ReadReason(rw))
		}
		return 0, ErrRefused
	}
	return chosen, nil
}
