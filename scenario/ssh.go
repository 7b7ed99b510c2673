package scenario

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/checks/probe/ssh"
	"github.com/tailab/tailab/labs"
)

// sshSteps runs a step's `run` as a POSIX shell script: `sh -s` on the
// machine, the script on its stdin (so it never appears in a process list),
// through the ssh probe and the machine's "ssh" credentials.
type sshSteps struct{ probe *ssh.Probe }

func newSSHSteps() *sshSteps { return &sshSteps{probe: ssh.New()} }

// Apply runs the script; code is its exit status.
func (s *sshSteps) Apply(ctx context.Context, t probe.Target, st labs.Step) (string, int, error) {
	timeout := DefaultStepTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	script := st.Run
	req := probe.Request{ID: st.Name, Params: &ssh.Params{Command: "sh -s", Stdin: &script, Timeout: timeout}, Timeout: timeout}
	obs, err := s.probe.Run(ctx, t, []probe.Request{req})
	if err != nil {
		// The probe returns an error of its own only when it could not
		// connect (dial, handshake, login): the script was not sent.
		return "", 0, notStarted(err)
	}
	if len(obs) == 1 && obs[0].Err != nil {
		return "", 0, obs[0].Err
	}
	if len(obs) != 1 {
		return "", 0, errors.New("no observation")
	}
	v := obs[0].Values
	code, _ := v["exit_code"].(int)
	return fmt.Sprint(v["stdout"]) + "\n" + fmt.Sprint(v["stderr"]), code, nil
}
