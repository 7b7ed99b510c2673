package rfb

import (
	"bytes"
	"crypto/des"
	"encoding/binary"
	"errors"
	"io"
	"math/bits"
	"net"
	"strings"
	"testing"
	"time"
)

// fakeVNC serves one RFB handshake on a pipe as a VNC server speaking
// version, offering types (3.7+) or type (3.3), checking the VNC
// authentication response against password; it returns what it read.
func fakeVNC(t *testing.T, version string, types []byte, password string) (net.Conn, chan string) {
	t.Helper()
	client, server := net.Pipe()
	seen := make(chan string, 1)
	go func() {
		defer server.Close()
		var got bytes.Buffer
		defer func() { seen <- got.String() }()
		r := io.TeeReader(server, &got)
		_ = server.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(server, version); err != nil {
			return
		}
		v := make([]byte, 12)
		if _, err := io.ReadFull(r, v); err != nil {
			return
		}
		minor := version[8:11]
		var chosen byte
		if minor == "003" {
			_, _ = server.Write(binary.BigEndian.AppendUint32(nil, uint32(types[0])))
			chosen = types[0]
		} else {
			_, _ = server.Write(append([]byte{byte(len(types))}, types...))
			if len(types) == 0 {
				_, _ = server.Write(append(binary.BigEndian.AppendUint32(nil, 7), "go away"...))
				return
			}
			b := make([]byte, 1)
			if _, err := io.ReadFull(r, b); err != nil {
				return
			}
			chosen = b[0]
		}
		ok := true
		if chosen == SecVNCAuth {
			challenge := []byte("0123456789abcdef")
			_, _ = server.Write(challenge)
			resp := make([]byte, 16)
			if _, err := io.ReadFull(r, resp); err != nil {
				return
			}
			key := make([]byte, 8)
			copy(key, password)
			for i := range key {
				key[i] = bits.Reverse8(key[i])
			}
			block, _ := des.NewCipher(key)
			want := make([]byte, 16)
			block.Encrypt(want[:8], challenge[:8])
			block.Encrypt(want[8:], challenge[8:])
			ok = bytes.Equal(resp, want)
		} else if minor != "008" {
			return // None before 3.8: no SecurityResult
		}
		if ok {
			_, _ = server.Write([]byte{0, 0, 0, 0})
			return
		}
		_, _ = server.Write([]byte{0, 0, 0, 1})
		if minor == "008" {
			_, _ = server.Write(append(binary.BigEndian.AppendUint32(nil, 14), "bad password!!"...))
		}
	}()
	return client, seen
}

// TestLogin: the client half of RFB against the servers it may meet (the
// security type it used), never sending the password itself.
func TestLogin(t *testing.T) {
	for _, tc := range []struct {
		name, version string
		types         []byte
		serverPW, pw  string
		want          string // "" ok, else a part of the error
		used          byte   // the security type Login says it used
	}{
		{"3.8 VNC auth", "RFB 003.008\n", []byte{SecNone + 18, SecVNCAuth}, "secret12", "secret12", "", SecVNCAuth},
		{"3.8 wrong password", "RFB 003.008\n", []byte{SecVNCAuth}, "secret12", "other123", "refused the console password: bad password!!", 0},
		{"3.7 VNC auth", "RFB 003.007\n", []byte{SecVNCAuth}, "abcdefgh", "abcdefgh", "", SecVNCAuth},
		{"3.3 VNC auth", "RFB 003.003\n", []byte{SecVNCAuth}, "abcdefgh", "abcdefgh", "", SecVNCAuth},
		{"3.3 wrong password", "RFB 003.003\n", []byte{SecVNCAuth}, "abcdefgh", "zzzzzzzz", "refused the console password", 0},
		{"3.8 None only", "RFB 003.008\n", []byte{SecNone}, "", "ignored1", "", SecNone},
		{"3.7 None only", "RFB 003.007\n", []byte{SecNone}, "", "ignored1", "", SecNone},
		{"later version", "RFB 005.000\n", []byte{SecVNCAuth}, "abcdefgh", "abcdefgh", "", SecVNCAuth},
		{"refusal", "RFB 003.008\n", []byte{}, "", "x", "refused the connection: go away", 0},
		{"no known type", "RFB 003.008\n", []byte{19, 30}, "", "x", "no security type tailab speaks", 0},
		{"not RFB", "SSH-2.0-Open\n", nil, "", "x", "not an RFB version", 0},
		{"RFB 2", "RFB 002.000\n", nil, "", "x", "not supported", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, seen := fakeVNC(t, tc.version, tc.types, tc.serverPW)
			used, err := Login(c, tc.pw)
			c.Close()
			got := <-seen
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("error %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want %q", err, tc.want)
			}
			if strings.Contains(got, tc.pw) {
				t.Error("the password was sent in clear")
			}
			if used != tc.used {
				t.Errorf("used security type %d, want %d", used, tc.used)
			}
			if strings.Contains(tc.want, "password") && !errors.Is(err, ErrRefused) {
				t.Errorf("%v is not ErrRefused", err)
			}
		})
	}
}
