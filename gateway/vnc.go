package gateway

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/tailab/tailab/internal/rfb"
)

// The RFB protocol (RFC 6143) as the console relay needs it: the gateway
// is the client of the VM's VNC server, which it authenticates to with the
// candidate's console password (rfb.Login), and the server of the browser, to which it
// offers the security type None only. After both handshakes the bytes are
// relayed untouched: the password never reaches the browser.

// vncOffer is the server's half of the handshake with the browser: version
// 3.8, the security type None only, so the browser never asks for nor learns
// a password. With refusal set it refuses instead, with that reason (noVNC
// shows it: "securityfailure"); the error is then the refusal.
func vncOffer(rw io.ReadWriter, refusal string) error {
	if _, err := io.WriteString(rw, "RFB 003.008\n"); err != nil {
		return err
	}
	minor, err := rfb.ReadVersion(rw)
	if err != nil {
		return err
	}
	reason := func() []byte {
		b := binary.BigEndian.AppendUint32(nil, uint32(len(refusal)))
		return append(b, refusal...)
	}
	if minor < 7 { // the server decides
		if refusal != "" {
			_, _ = rw.Write(append([]byte{0, 0, 0, rfb.SecInvalid}, reason()...))
			return errors.New(refusal)
		}
		_, err := rw.Write([]byte{0, 0, 0, rfb.SecNone})
		return err
	}
	if refusal != "" {
		_, _ = rw.Write(append([]byte{0}, reason()...))
		return errors.New(refusal)
	}
	if _, err := rw.Write([]byte{1, rfb.SecNone}); err != nil {
		return err
	}
	var chosen [1]byte
	if _, err := io.ReadFull(rw, chosen[:]); err != nil {
		return fmt.Errorf("read the browser's security type: %w", err)
	}
	if chosen[0] != rfb.SecNone {
		return fmt.Errorf("the browser chose security type %d, not offered", chosen[0])
	}
	if minor >= 8 {
		_, err = rw.Write([]byte{0, 0, 0, 0}) // SecurityResult: OK
	}
	return err
}
