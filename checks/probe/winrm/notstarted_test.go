package winrm_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tailab/tailab/checks/probe/winrm"
	"github.com/tailab/tailab/checks/probe/winrm/winrmtest"
	"github.com/tailab/tailab/internal/testenv/wsman"
)

// RunScript's error says whether the script surely did not run
// (ErrNotStarted): a machine that refuses the connection or the credentials,
// not one that stops answering while the script runs.
func TestRunScriptNotStarted(t *testing.T) {
	for _, tc := range []struct {
		name       string
		setup      func(t *testing.T, f *scriptFixture)
		notStarted bool
	}{
		{"machine down", func(t *testing.T, f *scriptFixture) { f.srv.Close() }, true},
		{"wrong password", func(t *testing.T, f *scriptFixture) {
			c := f.tgt.Credentials["winrm"]
			c.User = "Invité"
			f.tgt.Credentials["winrm"] = c
		}, true},
		{"no credentials", func(t *testing.T, f *scriptFixture) { f.tgt.Credentials = nil }, true},
		{"machine gone while the script runs", func(t *testing.T, f *scriptFixture) {
			go func() {
				for f.srv.Stats().Sends == 0 {
					time.Sleep(5 * time.Millisecond)
				}
				time.Sleep(100 * time.Millisecond) // within the Receive's latency
				f.srv.Close()
			}()
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newScriptFixture(t, wsman.AuthNTLM, func(string) winrmtest.Outcome { return winrmtest.Outcome{} }, func(c *wsman.Config) {
				c.Latency = func(action string) time.Duration {
					if action == wsman.ActionReceive {
						return 2 * time.Second
					}
					return 0
				}
			})
			tc.setup(t, f)
			_, err := f.probe.RunScript(context.Background(), f.tgt, "Write-Output 'x'")
			if err == nil || errors.Is(err, winrm.ErrNotStarted) != tc.notStarted {
				t.Fatalf("err = %v, ErrNotStarted %v, want %v", err, errors.Is(err, winrm.ErrNotStarted), tc.notStarted)
			}
		})
	}
}
