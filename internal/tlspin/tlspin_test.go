package tlspin

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"0a1B":                 "0a1b",
		"sha256:0A:1B":         "0a1b",
		" SHA256:0a 1b ":       "0a1b",
		"":                     "",
		"0a:1b:2c:3d:4e:5f:60": "0a1b2c3d4e5f60",
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestShort(t *testing.T) {
	for in, want := range map[string]string{
		"AB:CD":                 "sha256:abcd",
		strings.Repeat("f", 64): "sha256:ffffffffffffffff…",
	} {
		if got := Short(in); got != want {
			t.Errorf("Short(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFingerprint(t *testing.T) {
	// sha256("") — the empty input's well-known digest.
	const want = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	if got := Fingerprint(nil); got != want {
		t.Errorf("Fingerprint(nil) = %s, want %s", got, want)
	}
}

// A real TLS listener on loopback: Handshake returns its certificate's
// fingerprint, and a client that Trusts that pin connects while one that
// trusts another pin is refused with a *MismatchError naming both.
func TestHandshakeAndTrust(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	sum := sha256.Sum256(srv.Certificate().Raw)
	want := hex.EncodeToString(sum[:])

	got, err := Handshake(context.Background(), addr)
	if err != nil || got != want {
		t.Fatalf("Handshake = %q, %v; want %q", got, err, want)
	}

	const other = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		name, pin string
		mismatch  bool
	}{
		{"the pin", want, false},
		{"the pin as openssl prints it", "SHA256:" + strings.ToUpper(want), false},
		{"another pin", other, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conf := &tls.Config{MinVersion: tls.VersionTLS12}
			Trust(conf, tc.pin)
			c, err := tls.Dial("tcp", addr, conf)
			if !tc.mismatch {
				if err != nil {
					t.Fatalf("dial: %v", err)
				}
				c.Close()
				return
			}
			var me *MismatchError
			if !errors.As(err, &me) || me.Got != want || me.Want != other {
				t.Fatalf("err = %v, want a *MismatchError got=%s want=%s", err, want, other)
			}
			if !strings.Contains(err.Error(), Short(want)) || !strings.Contains(err.Error(), Short(other)) {
				t.Fatalf("message does not name both fingerprints: %v", err)
			}
		})
	}
}

func TestHandshakeRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	if _, err := Handshake(context.Background(), addr); err == nil {
		t.Fatal("Handshake with a closed port succeeded")
	}
}
