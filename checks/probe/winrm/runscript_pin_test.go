package winrm_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tailab/tailab/checks/probe/winrm/winrmtest"
	"github.com/tailab/tailab/internal/testenv/wsman"
	"github.com/tailab/tailab/internal/tlspin"
)

// Fault and solution steps (RunScript) trust the pinned certificate as the
// probe does: the right pin runs the script, a wrong one runs nothing.
func TestRunScriptCertificatePin(t *testing.T) {
	echo := func(string) winrmtest.Outcome { return winrmtest.Outcome{Stdout: "fait\r\n"} }
	for _, tc := range []struct {
		name, pin, wantErr string
	}{
		{name: "pinned"},
		{name: "wrong pin", pin: strings.Repeat("ab", 32), wantErr: "is not the one pinned when it came up (sha256:abababababababab…)"},
		{name: "no pin, untrusted", pin: "-", wantErr: "certificate signed by unknown authority"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newScriptFixture(t, wsman.AuthNTLM, echo, nil)
			f.probe.CACert = nil
			switch tc.pin {
			case "":
				f.tgt.TLSPin = f.srv.CertSHA256
			case "-":
			default:
				f.tgt.TLSPin = tc.pin
			}
			res, err := f.probe.RunScript(context.Background(), f.tgt, "Write-Output 'fait'")
			if tc.wantErr == "" {
				if err != nil || res.ExitCode != 0 || res.Stdout != "fait" {
					t.Fatalf("res %+v, err %v", res, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
			}
			var pe *tlspin.MismatchError
			if errors.As(err, &pe) != (tc.name == "wrong pin") {
				t.Fatalf("err = %#v", err)
			}
			if st := f.srv.Stats(); st.Requests != 0 || st.Commands != 0 {
				t.Fatalf("a script reached a refused machine: %+v", st)
			}
		})
	}
}
