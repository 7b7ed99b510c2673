// Package scenario applies a lab's scenario to a candidate's machines: the
// faults drawn for the session and the solution steps, each a script run over
// the machine's transport (ssh, winrm, ldap) with the grader's probes. It sits
// above both provision (which builds the machines) and checks (whose probes
// reach them), so that provisioning never depends on the grader.
package scenario

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/checks/probe/ldap"
	"github.com/tailab/tailab/checks/probe/winrm"
	"github.com/tailab/tailab/labs"
)

// DefaultStepTimeout bounds a fault or solution step without a timeout.
const DefaultStepTimeout = 60 * time.Second

// maxStepOutput is how much of a step's output a StepResult keeps.
const maxStepOutput = 4096

// StepResult is what applying one step gave.
type StepResult struct {
	Step     string `json:"step"`
	Machine  string `json:"machine"`
	ExitCode int    `json:"exit_code"`
	// Output is stdout then stderr (ssh, winrm) or the transcript of the records
	// applied (ldap), secrets masked, cut at 4 KiB.
	Output   string        `json:"output,omitempty"`
	Duration time.Duration `json:"duration"`
	// Attempts is how many times the step was sent, when the machine did not
	// answer at first (restarting): the step ran once, at the last attempt.
	Attempts int `json:"attempts,omitempty"`
}

// Runner applies fault and solution steps to one candidate's machines through
// their transports (labs.StepTransports):
//
//   - ssh: `run` is a POSIX shell script given to `sh -s` on stdin (steps_ssh.go);
//   - winrm: `run` is a PowerShell script, sent on the WinRM command's stdin
//     (steps_winrm.go);
//   - ldap: `run` is LDIF change records applied over LDAPS or StartTLS
//     (steps_ldap.go).
//
// Scripts never appear on a command line. The zero value is ready to use.
type Runner struct {
	// Machines are the candidate's targets by machine name (management address,
	// credentials, masker), as the grader builds them.
	Machines map[string]probe.Target
	// WinRM is the client of winrm steps; nil means winrm.New(), the grader's
	// (NTLM, certificates verified against the system roots).
	WinRM *winrm.WinRM
	// LDAP holds the connection fields (tls, port, insecure_skip_verify,
	// ca_file, server_name, credentials) of ldap steps; nil means
	// DefaultLDAPStep.
	LDAP *ldap.Params
	// RestartTimeout is how long a machine a step restarted (see
	// restartAfter) may take to answer again before the next step on it
	// fails; 0 means DefaultRestartTimeout.
	RestartTimeout time.Duration

	transports map[string]stepTransport
	mu         sync.Mutex
	restarts   map[string]pendingRestart // by machine
}

// DefaultRestartTimeout bounds the wait for a machine restarted by a step:
// the catalog's Windows machines get as long to come up (ready.timeout).
const DefaultRestartTimeout = 20 * time.Minute

// Retries of a step whose machine does not answer: the first wait, doubled up
// to the last.
var (
	retryFirst = 250 * time.Millisecond
	retryMax   = 5 * time.Second
)

// DefaultLDAPStep is how ldap steps connect by default: LDAPS on 636 with the
// machine's "ldap" credentials, the certificate not verified, as the catalog's
// suites reach the lab DCs (self-signed certificates).
var DefaultLDAPStep = ldap.Params{TLS: ldap.TLSLDAPS, InsecureSkipVerify: true}

// stepTransport applies a step's `run` to a machine over one transport.
type stepTransport interface {
	// Apply runs the step within ctx's deadline. out is what the step printed
	// or did (masked by the caller), code its exit status (0 on success); err
	// says the step could not run, or failed where the transport has no exit
	// status. An error raised before anything of the step reached the machine
	// is wrapped with notStarted: ApplyStep may send the step again.
	Apply(ctx context.Context, t probe.Target, st labs.Step) (out string, code int, err error)
}

// notStartedError marks a transport error raised before anything of the step
// was sent: connecting, the TLS or SSH handshake, authenticating, opening the
// shell.
type notStartedError struct{ err error }

func (e *notStartedError) Error() string { return e.err.Error() }
func (e *notStartedError) Unwrap() error { return e.err }

func notStarted(err error) error {
	if err == nil {
		return nil
	}
	return &notStartedError{err}
}

// retryable reports whether a step that failed with err may be sent again: it
// did not start (notStarted) and the machine did not answer — the connection
// was refused, reset, timed out, or had no route — which is what a machine
// restarting shows. A refused login, a wrong certificate, a script that ran
// and failed are never retried.
func retryable(err error) bool {
	var ns *notStartedError
	if !errors.As(err, &ns) {
		return false
	}
	for _, e := range []error{syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED, syscall.EHOSTUNREACH,
		syscall.ENETUNREACH, syscall.EHOSTDOWN, syscall.ETIMEDOUT, syscall.EPIPE, io.EOF, io.ErrUnexpectedEOF, os.ErrDeadlineExceeded} {
		if errors.Is(err, e) {
			return true
		}
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// transport returns the stepTransport of a transport name.
func (r *Runner) transport(name string) (stepTransport, error) {
	if tr, ok := r.transports[name]; ok {
		return tr, nil
	}
	var tr stepTransport
	switch name {
	case "ssh":
		tr = newSSHSteps()
	case "winrm":
		tr = &winrmSteps{client: r.WinRM}
	case "ldap":
		tr = &ldapSteps{params: r.LDAP}
	default:
		return nil, fmt.Errorf("transport %q is not supported for steps (valid: %s)", name, strings.Join(labs.StepTransports, ", "))
	}
	if r.transports == nil {
		r.transports = map[string]stepTransport{}
	}
	r.transports[name] = tr
	return tr, nil
}

// ApplyStep runs one step and fails when the machine cannot be reached, the
// script exits non-zero or an LDIF record is refused (the error then carries
// the output).
func (r *Runner) ApplyStep(ctx context.Context, st labs.Step) (StepResult, error) {
	res := StepResult{Step: st.Name, Machine: st.Machine}
	t, ok := r.Machines[st.Machine]
	if !ok {
		return res, fmt.Errorf("step %s: no machine %q", st.Name, st.Machine)
	}
	tr, err := r.transport(st.StepTransport())
	if err != nil {
		return res, fmt.Errorf("step %s: %w", st.Name, err)
	}
	timeout := time.Duration(st.Timeout)
	if timeout <= 0 {
		timeout = DefaultStepTimeout
	}
	if err := r.waitRestart(ctx, st, t); err != nil {
		return res, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	var out string
	var code int
	// A machine that does not answer yet (restarting) is waited for, within
	// the step's timeout; a step that reached the machine is never sent again.
	for wait := retryFirst; ; wait = min(2*wait, retryMax) {
		res.Attempts++
		out, code, err = tr.Apply(ctx, t, st)
		if err == nil || !retryable(err) || ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
			continue
		}
		break
	}
	if res.Attempts > 1 && err != nil && retryable(err) {
		err = fmt.Errorf("%w (no answer within the step's timeout, %s, %d attempts)", err, timeout, res.Attempts)
	}
	if res.Attempts == 1 {
		res.Attempts = 0
	}
	res.Duration = time.Since(start)
	res.ExitCode = code
	if err == nil && code == 0 {
		r.noteRestart(st, t)
	}
	res.Output = cut(t.Masker.Mask(strings.TrimSpace(out)), maxStepOutput)
	switch {
	case err != nil && res.Output != "":
		return res, fmt.Errorf("step %s on %s: %w\n%s", st.Name, st.Machine, err, res.Output)
	case err != nil:
		return res, fmt.Errorf("step %s on %s: %w", st.Name, st.Machine, err)
	case code != 0:
		return res, fmt.Errorf("step %s on %s: %w: %s", st.Name, st.Machine, &ExitError{Code: code}, res.Output)
	}
	return res, nil
}

// ExitError is a step that ran to its end and exited non-zero: the machine
// answered (unlike a transport error).
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// cut keeps the first n bytes of s, at a character boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// ApplyFaults applies the given faults in order (labs.Lab.FaultsFor draws them).
func (r *Runner) ApplyFaults(ctx context.Context, faults []labs.Fault) ([]StepResult, error) {
	var out []StepResult
	for _, f := range faults {
		res, err := r.ApplyStep(ctx, f.Step())
		out = append(out, res)
		if err != nil {
			return out, fmt.Errorf("fault %w", err)
		}
	}
	return out, nil
}

// ApplySteps applies solution steps in order, stopping at the first failure.
func (r *Runner) ApplySteps(ctx context.Context, steps []labs.Step) ([]StepResult, error) {
	var out []StepResult
	for _, st := range steps {
		res, err := r.ApplyStep(ctx, st)
		out = append(out, res)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}
