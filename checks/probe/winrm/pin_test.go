package winrm

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tailab/tailab/internal/testenv/wsman"
	"github.com/tailab/tailab/internal/tlspin"
)

// A lab machine's self-signed certificate, trusted by the pin `tailab up`
// recorded: the right pin passes, a wrong one is an error for every check (not
// a fail) naming both fingerprints, and without a pin the certificate is
// checked against the system roots as before.
func TestCertificatePin(t *testing.T) {
	colons := func(hex string) string { // how openssl prints a fingerprint
		var b strings.Builder
		for i := 0; i < len(hex); i += 2 {
			if i > 0 {
				b.WriteByte(':')
			}
			b.WriteString(strings.ToUpper(hex[i : i+2]))
		}
		return b.String()
	}
	const wrong = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		name     string
		pin      func(s *wsman.Server) string
		ca       bool // the probe also holds the server's CA (--winrm-ca)
		insecure bool
		wantErr  string // "" = the checks run
	}{
		{name: "pinned", pin: func(s *wsman.Server) string { return s.CertSHA256 }},
		{name: "pinned, openssl form", pin: func(s *wsman.Server) string { return "SHA256:" + colons(s.CertSHA256) }},
		{name: "wrong pin", pin: func(*wsman.Server) string { return wrong },
			wantErr: "is not the one pinned when it came up (sha256:0123456789abcdef…)"},
		{name: "no pin, untrusted", pin: func(*wsman.Server) string { return "" }, wantErr: "certificate signed by unknown authority"},
		{name: "no pin, CA", pin: func(*wsman.Server) string { return "" }, ca: true},
		{name: "CA wins over the pin", pin: func(*wsman.Server) string { return wrong }, ca: true},
		{name: "insecure wins over the pin", pin: func(*wsman.Server) string { return wrong }, insecure: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, wsman.AuthNTLM, nil)
			if !tc.ca {
				f.probe.CACert = nil
			}
			f.probe.Insecure = tc.insecure
			f.tgt.TLSPin = tc.pin(f.srv)
			obs, err := f.probe.Run(context.Background(), f.tgt, reqs("'a'", "'b'"))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
				if obs[0].Err != nil || obs[0].Values["value"] != "a" {
					t.Fatalf("obs %+v", obs)
				}
				return
			}
			for _, e := range []error{err, obs[0].Err, obs[1].Err} {
				if e == nil || !strings.Contains(e.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", e, tc.wantErr)
				}
			}
			if obs[0].Values != nil || obs[1].Values != nil {
				t.Fatalf("a refused certificate gave values: %+v", obs)
			}
			var pe *tlspin.MismatchError
			if tc.name == "wrong pin" {
				if !errors.As(err, &pe) || pe.Want != wrong || pe.Got != f.srv.CertSHA256 {
					t.Fatalf("err = %#v, want a *tlspin.MismatchError", err)
				}
				if got := tlspin.Short(f.srv.CertSHA256); !strings.Contains(err.Error(), got) {
					t.Fatalf("err = %v, want the presented certificate %s", err, got)
				}
			} else if errors.As(err, &pe) {
				t.Fatalf("err = %v: no pin to mismatch", err)
			}
			if st := f.srv.Stats(); st.Requests != 0 || st.Shells != 0 {
				t.Fatalf("the probe talked to a refused machine: %+v", st)
			}
		})
	}
}
