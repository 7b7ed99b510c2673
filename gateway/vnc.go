package gateway

import (
	"crypto/des"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"slices"
)

// The RFB protocol (RFC 6143) as the console relay needs it: the gateway
// is the client of the VM's VNC server, which it authenticates to with the
// candidate's console password, and the server of the browser, to which it
// offers the security type None only. After both handshakes the bytes are
// relayed untouched: the password never reaches the browser.

// RFB security types.
const (
	rfbSecInvalid = 0
	rfbSecNone    = 1
	rfbSecVNCAuth = 2
)

// errVNCRefused is a VNC server refusing the console password.
var errVNCRefused = errors.New("the VNC server refused the console password")

// readRFBVersion reads a ProtocolVersion message ("RFB 003.008\n") and
// returns its minor version (3, 7 or 8: 3.x versions the gateway speaks).
func readRFBVersion(r io.Reader) (int, error) {
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

// vncResponse is VNC authentication's answer to a 16-byte challenge: the
// challenge encrypted with DES, keyed by the password's first 8 bytes with
// each byte's bits reversed (RFC 6143 7.2.2 and the reference code).
func vncResponse(challenge []byte, password string) ([]byte, error) {
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

// readReason reads a failure reason (a length, then text), bounded.
func readReason(r io.Reader) string {
	var l [4]byte
	if _, err := io.ReadFull(r, l[:]); err != nil {
		return "(no reason given)"
	}
	msg := make([]byte, min(binary.BigEndian.Uint32(l[:]), 1024))
	_, _ = io.ReadFull(r, msg)
	return string(msg)
}

// vncLogin is the client's half of the handshake with a VM's VNC server, up
// to and without ClientInit: the version (3.8 or the server's older one),
// then VNC authentication with password, or None when the server asks for
// no password. It never writes the password itself, only the DES response.
func vncLogin(rw io.ReadWriter, password string) error {
	minor, err := readRFBVersion(rw)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(rw, "RFB 003.%03d\n", minor); err != nil {
		return err
	}
	var types []byte
	if minor >= 7 {
		var n [1]byte
		if _, err := io.ReadFull(rw, n[:]); err != nil {
			return fmt.Errorf("read security types: %w", err)
		}
		if n[0] == 0 {
			return fmt.Errorf("the VNC server refused the connection: %s", readReason(rw))
		}
		types = make([]byte, n[0])
		if _, err := io.ReadFull(rw, types); err != nil {
			return fmt.Errorf("read security types: %w", err)
		}
	} else {
		var t [4]byte
		if _, err := io.ReadFull(rw, t[:]); err != nil {
			return fmt.Errorf("read security type: %w", err)
		}
		if binary.BigEndian.Uint32(t[:]) == rfbSecInvalid {
			return fmt.Errorf("the VNC server refused the connection: %s", readReason(rw))
		}
		types = []byte{byte(binary.BigEndian.Uint32(t[:]))}
	}
	var chosen byte
	switch {
	case slices.Contains(types, rfbSecVNCAuth):
		chosen = rfbSecVNCAuth
	case slices.Contains(types, rfbSecNone):
		chosen = rfbSecNone
	default:
		return fmt.Errorf("the VNC server offers no security type the gateway speaks (types %v)", types)
	}
	if minor >= 7 {
		if _, err := rw.Write([]byte{chosen}); err != nil {
			return err
		}
	}
	if chosen == rfbSecNone && minor < 8 {
		return nil // no SecurityResult before 3.8
	}
	if chosen == rfbSecVNCAuth {
		challenge := make([]byte, 16)
		if _, err := io.ReadFull(rw, challenge); err != nil {
			return fmt.Errorf("read VNC challenge: %w", err)
		}
		resp, err := vncResponse(challenge, password)
		if err != nil {
			return err
		}
		if _, err := rw.Write(resp); err != nil {
			return err
		}
	}
	var res [4]byte
	if _, err := io.ReadFull(rw, res[:]); err != nil {
		return fmt.Errorf("read security result: %w", err)
	}
	if binary.BigEndian.Uint32(res[:]) != 0 {
		if minor >= 8 {
			return fmt.Errorf("%w: %s", errVNCRefused, readReason(rw))
		}
		return errVNCRefused
	}
	return nil
}

// vncOffer is the server's half of the handshake with the browser: version
// 3.8, the security type None only, so the browser never asks for nor learns
// a password. With refusal set it refuses instead, with that reason (noVNC
// shows it: "securityfailure"); the error is then the refusal.
func vncOffer(rw io.ReadWriter, refusal string) error {
	if _, err := io.WriteString(rw, "RFB 003.008\n"); err != nil {
		return err
	}
	minor, err := readRFBVersion(rw)
	if err != nil {
		return err
	}
	reason := func() []byte {
		b := binary.BigEndian.AppendUint32(nil, uint32(len(refusal)))
		return append(b, refusal...)
	}
	if minor < 7 { // the server decides
		if refusal != "" {
			_, _ = rw.Write(append([]byte{0, 0, 0, rfbSecInvalid}, reason()...))
			return errors.New(refusal)
		}
		_, err := rw.Write([]byte{0, 0, 0, rfbSecNone})
		return err
	}
	if refusal != "" {
		_, _ = rw.Write(append([]byte{0}, reason()...))
		return errors.New(refusal)
	}
	if _, err := rw.Write([]byte{1, rfbSecNone}); err != nil {
		return err
	}
	var chosen [1]byte
	if _, err := io.ReadFull(rw, chosen[:]); err != nil {
		return fmt.Errorf("read the browser's security type: %w", err)
	}
	if chosen[0] != rfbSecNone {
		return fmt.Errorf("the browser chose security type %d, not offered", chosen[0])
	}
	if minor >= 8 {
		_, err = rw.Write([]byte{0, 0, 0, 0}) // SecurityResult: OK
	}
	return err
}
