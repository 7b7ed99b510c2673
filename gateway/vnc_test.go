package gateway

import (
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/tailab/tailab/internal/rfb"
)

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
		{"3.8", "RFB 003.008\n", rfb.SecNone, "", []byte{1, rfb.SecNone, 0, 0, 0, 0}, ""},
		{"3.7", "RFB 003.007\n", rfb.SecNone, "", []byte{1, rfb.SecNone}, ""},
		{"3.3", "RFB 003.003\n", 0, "", []byte{0, 0, 0, rfb.SecNone}, ""},
		{"3.8 refused", "RFB 003.008\n", 0, "Non.", append([]byte{0, 0, 0, 0, 4}, "Non."...), "Non."},
		{"3.3 refused", "RFB 003.003\n", 0, "Non.", append([]byte{0, 0, 0, 0, 0, 0, 0, 4}, "Non."...), "Non."},
		{"asks VNC auth", "RFB 003.008\n", rfb.SecVNCAuth, "", []byte{1, rfb.SecNone}, "chose security type 2"},
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
