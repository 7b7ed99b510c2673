package gateway

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
		if chosen == rfbSecVNCAuth {
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

// TestVNCLogin: the gateway's client half of RFB against the servers it may
// meet, never sending the password itself.
func TestVNCLogin(t *testing.T) {
	for _, tc := range []struct {
		name, version string
		types         []byte
		serverPW, pw  string
		want          string // "" ok, else a part of the error
	}{
		{"3.8 VNC auth", "RFB 003.008\n", []byte{rfbSecNone + 18, rfbSecVNCAuth}, "secret12", "secret12", ""},
		{"3.8 wrong password", "RFB 003.008\n", []byte{rfbSecVNCAuth}, "secret12", "other123", "refused the console password: bad password!!"},
		{"3.7 VNC auth", "RFB 003.007\n", []byte{rfbSecVNCAuth}, "abcdefgh", "abcdefgh", ""},
		{"3.3 VNC auth", "RFB 003.003\n", []byte{rfbSecVNCAuth}, "abcdefgh", "abcdefgh", ""},
		{"3.3 wrong password", "RFB 003.003\n", []byte{rfbSecVNCAuth}, "abcdefgh", "zzzzzzzz", "refused the console password"},
		{"3.8 None only", "RFB 003.008\n", []byte{rfbSecNone}, "", "ignored1", ""},
		{"3.7 None only", "RFB 003.007\n", []byte{rfbSecNone}, "", "ignored1", ""},
		{"later version", "RFB 005.000\n", []byte{rfbSecVNCAuth}, "abcdefgh", "abcdefgh", ""},
		{"refusal", "RFB 003.008\n", []byte{}, "", "x", "refused the connection: go away"},
		{"no known type", "RFB 003.008\n", []byte{19, 30}, "", "x", "no security type the gateway speaks"},
		{"not RFB", "SSH-2.0-Open\n", nil, "", "x", "not an RFB version"},
		{"RFB 2", "RFB 002.000\n", nil, "", "x", "not supported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, seen := fakeVNC(t, tc.version, tc.types, tc.serverPW)
			err := vncLogin(c, tc.pw)
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
			if strings.Contains(tc.want, "password") && !errors.Is(err, errVNCRefused) {
				t.Errorf("%v is not errVNCRefused", err)
			}
		})
	}
}

// TestVNCOffer: the browser is offered None only, whatever version it
// speaks, or a refusal with its reason; a browser choosing another type is
// dropped.
func TestVNCOffer(t *testing.T) {
	for _, tc := range []struct {
		name, version string
		choose        byte
		refusal       string
		want          []byte // after the server's version
		err           string
	}{
		{"3.8", "RFB 003.008\n", rfbSecNone, "", []byte{1, rfbSecNone, 0, 0, 0, 0}, ""},
		{"3.7", "RFB 003.007\n", rfbSecNone, "", []byte{1, rfbSecNone}, ""},
		{"3.3", "RFB 003.003\n", 0, "", []byte{0, 0, 0, rfbSecNone}, ""},
		{"3.8 refused", "RFB 003.008\n", 0, "Non.", append([]byte{0, 0, 0, 0, 4}, "Non."...), "Non."},
		{"3.3 refused", "RFB 003.003\n", 0, "Non.", append([]byte{0, 0, 0, 0, 0, 0, 0, 4}, "Non."...), "Non."},
		{"asks VNC auth", "RFB 003.008\n", rfbSecVNCAuth, "", []byte{1, rfbSecNone}, "chose security type 2"},
		{"garbage", "GET / HTTP/1.\n", 0, "", nil, "not an RFB version"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			browser, gw := net.Pipe()
			_ = browser.SetDeadline(time.Now().Add(5 * time.Second))
			done := make(chan error, 1)
			go func() { done <- vncOffer(gw, tc.refusal); gw.Close() }()
			v := make([]byte, 12)
			if _, err := io.ReadFull(browser, v); err != nil || string(v) != "RFB 003.008\n" {
				t.Fatalf("server version %q %v", v, err)
			}
			_, _ = io.WriteString(browser, tc.version)
			var got []byte
			if tc.choose != 0 {
				b := make([]byte, 2)
				if _, err := io.ReadFull(browser, b); err == nil {
					got = append(got, b...)
					_, _ = browser.Write([]byte{tc.choose})
				}
			}
			rest, _ := io.ReadAll(browser)
			got = append(got, rest...)
			err := <-done
			if !bytes.Equal(got, tc.want) {
				t.Errorf("the browser got %v, want %v", got, tc.want)
			}
			if (tc.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("error %v, want %q", err, tc.err)
			}
		})
	}
}
