package scenario

import (
	"context"
	"errors"
	"strings"

	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/checks/probe/winrm"
	"github.com/tailab/tailab/labs"
)

// winrmSteps runs a step's `run` as a PowerShell script on a Windows machine
// with winrm.RunScript: over WinRM (HTTPS, 5986 by default) with the machine's
// "winrm" credentials, in one shell and one command whose stdin carries the
// script (never a command line, never -EncodedCommand). The script runs with
// $ErrorActionPreference = 'Stop'; its exit code is `exit N`'s or the last
// native command's ($LASTEXITCODE), 1 when it threw.
type winrmSteps struct{ client *winrm.WinRM }

// Apply runs the script; out is stdout then stderr, masked with the target's
// secrets and the WinRM password.
func (w *winrmSteps) Apply(ctx context.Context, t probe.Target, st labs.Step) (string, int, error) {
	c := w.client
	if c == nil {
		c = winrm.New()
	}
	res, err := c.RunScript(ctx, t, st.Run)
	if errors.Is(err, winrm.ErrNotStarted) {
		err = notStarted(err)
	}
	out := strings.TrimSpace(res.Stdout + "\n" + res.Stderr)
	return out, res.ExitCode, err
}
