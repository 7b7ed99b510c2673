package terraform

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	tfetest "github.com/tailab/tailab/internal/testenv/tfe"
	"github.com/tailab/tailab/internal/tlspin"
	"github.com/tailab/tailab/provision"
)

// TestReadiness: a Terraform-provisioned machine is ready as a libvirt one
// is (package readiness): here the session's management network is on
// loopback (127.7x.0.0/16), where a WinRM-like TLS listener answers for
// c01/pc1 (ready: {winrm: true}). up records it ready with the listener's
// certificate pinned; status shows ready, then not-ready once it stops;
// a machine that never answers is not-ready, and up says which.
func TestReadiness(t *testing.T) {
	for i, d := range tfetest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			srv := tfetest.NewDialect(t, d, "ecole", testToken)
			cfg := testConfig(srv)
			cfg.Ready = nil // the real check
			s := testSession(t, "y1", 1)
			s.MgmtCIDR = []string{"127.77.0.0/16", "127.78.0.0/16"}[i]
			s.LabYAML = strings.Replace(s.LabYAML, "ready: {winrm: true, timeout: 15m}", "ready: {winrm: true, timeout: 3s}", 1)
			host := strings.Replace(s.MgmtCIDR, "0.0/16", "1.12", 1)
			ln, err := net.Listen("tcp", host+":5986")
			if err != nil {
				t.Fatal(err)
			}
			winrm := httptest.NewUnstartedServer(http.NotFoundHandler())
			winrm.Listener.Close()
			winrm.Listener = ln
			winrm.StartTLS()
			defer winrm.Close()

			obs, err := up(t, cfg, s, provision.ApplyOptions{})
			if err != nil {
				t.Fatalf("up: %v\n%s", err, obs.text())
			}
			pc1 := obs.machines["c01/pc1"]
			if pc1.State != provision.StateReady || pc1.ReadyAt.IsZero() || pc1.TLSPin != tlspin.Fingerprint(winrm.Certificate().Raw) {
				t.Errorf("pc1 %+v: want ready, its certificate pinned", pc1)
			}
			if !obs.has("c01  ready <nil>") {
				t.Errorf("no ready event:\n%s", obs.text())
			}
			status := func() string {
				st, err := New(cfg).Status(context.Background(), s, instances(t, s))
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range st {
					if m.Machine == "pc1" {
						return m.State
					}
				}
				return "none"
			}
			if got := status(); got != provision.StateReady {
				t.Errorf("status of pc1 %q, want ready", got)
			}
			winrm.Close()
			if got := status(); got != provision.StateNotReady {
				t.Errorf("status of pc1 with its listener stopped: %q, want not-ready", got)
			}
			// A machine that never answers: up waits its timeout, then says so.
			start := time.Now()
			obs, err = up(t, cfg, s, provision.ApplyOptions{})
			if err == nil || !strings.Contains(err.Error(), "pc1: not ready after 3s") {
				t.Fatalf("up with pc1 silent: %v", err)
			}
			if pc1 := obs.machines["c01/pc1"]; pc1.State != provision.StateNotReady || time.Since(start) < 3*time.Second {
				t.Errorf("pc1 %+v after %s", pc1, time.Since(start))
			}
		})
	}
}
