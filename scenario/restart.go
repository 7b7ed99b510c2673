package scenario

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"time"

	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/checks/probe/winrm"
	"github.com/tailab/tailab/internal/tlspin"
	"github.com/tailab/tailab/labs"
)

// A step that restarts its machine — a domain controller's promotion or a
// domain join ending with `shutdown.exe /r /t 15` — returns while the machine
// still answers: the restart comes a few seconds later. The next step on that
// machine must not start in that window (the restart would cut it short, and a
// step that started is never sent again), nor fail while the machine boots. So
// the runner remembers the restart (noteRestart), and before the next step on
// the machine (waitRestart) waits for it to stop answering, then to answer
// again: its WinRM listener completing a TLS handshake, within RestartTimeout.
// The step itself then still retries while its own transport does not answer
// yet (an LDAP server starting after WinRM).

// restartGrace is how long after the scheduled time a machine may take to stop
// answering (Windows closes its sessions and services first); past it, the
// restart is taken as aborted (`shutdown /a`) and the next step runs.
const restartGrace = 2 * time.Minute

// pendingRestart is a restart a step scheduled on a machine.
type pendingRestart struct {
	step string
	addr string        // the machine's WinRM endpoint, host:port
	down chan struct{} // closed once it stopped answering, or should have
}

var (
	psComment  = regexp.MustCompile(`(?m)#.*$`)
	psShutdown = regexp.MustCompile(`(?i)\bshutdown(?:\.exe)?((?:[ \t]+(?:"[^"\r\n]*"|'[^'\r\n]*'|[^\s;|]+))*)`)
	psRestart  = regexp.MustCompile(`(?i)\bRestart-Computer\b|\b(?:Add|Rename|Remove)-Computer\b[^\r\n;|]*[ \t]-Restart\b`)
	flagR      = regexp.MustCompile(`(?i)(?:^|\s)[/-]r(?:\s|$)`)
	flagT      = regexp.MustCompile(`(?i)(?:^|\s)[/-]t\s+(\d+)`)
)

// restartAfter reports whether a step restarts its machine, and in how long:
// declared (`restarts: true`: at once, or as its script says), or, for a winrm
// step, its PowerShell schedules one: `shutdown(.exe) /r` (with /t N, default
// 30 s, Windows' default), Restart-Computer, Add-/Rename-/Remove-Computer
// -Restart (at once). Comments are ignored; only winrm steps are watched
// through a restart (the loader refuses `restarts` on others).
func restartAfter(st labs.Step) (time.Duration, bool) {
	if st.StepTransport() != "winrm" {
		return 0, false
	}
	if d, ok := scriptRestart(st); ok {
		return d, true
	}
	return 0, st.Restarts
}

// scriptRestart is restartAfter's reading of a winrm step's PowerShell.
func scriptRestart(st labs.Step) (time.Duration, bool) {
	src := psComment.ReplaceAllString(st.Run, "")
	if psRestart.MatchString(src) {
		return 0, true
	}
	for _, m := range psShutdown.FindAllStringSubmatch(src, -1) {
		args := m[1]
		if !flagR.MatchString(args) {
			continue
		}
		delay := 30 * time.Second
		if t := flagT.FindStringSubmatch(args); t != nil {
			n, _ := strconv.Atoi(t[1])
			delay = time.Duration(n) * time.Second
		}
		return delay, true
	}
	return 0, false
}

// noteRestart remembers the restart a step that succeeded scheduled.
func (r *Runner) noteRestart(st labs.Step, t probe.Target) {
	delay, ok := restartAfter(st)
	if !ok {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.restarts == nil {
		r.restarts = map[string]pendingRestart{}
	}
	p := pendingRestart{step: st.Name, addr: winrmAddr(t, r.WinRM), down: make(chan struct{})}
	r.restarts[st.Machine] = p
	// Watched from now on, so that steps on other machines in between do not
	// hide the moment it goes down.
	downBy := time.Now().Add(delay + restartGrace)
	go func() {
		defer close(p.down)
		for time.Now().Before(downBy) && answersTLS(context.Background(), p.addr) == nil {
			time.Sleep(250 * time.Millisecond)
		}
	}()
}

// winrmAddr is the machine's WinRM endpoint as the client dials it.
func winrmAddr(t probe.Target, c *winrm.WinRM) string {
	def := winrm.DefaultPort
	if c != nil && c.Port > 0 {
		def = c.Port
	}
	return net.JoinHostPort(t.Address, strconv.Itoa(t.Port(winrm.Type, def)))
}

// waitRestart waits, before a step on a machine whose restart a previous step
// scheduled, until it went down and answers again.
func (r *Runner) waitRestart(ctx context.Context, st labs.Step, t probe.Target) error {
	r.mu.Lock()
	p, ok := r.restarts[st.Machine]
	delete(r.restarts, st.Machine)
	r.mu.Unlock()
	if !ok {
		return nil
	}
	// Down: the listener refused, reset or did not answer.
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-p.down:
	}
	// Up again.
	limit := r.RestartTimeout
	if limit <= 0 {
		limit = DefaultRestartTimeout
	}
	wctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for wait := retryFirst; ; wait = min(2*wait, retryMax) {
		err := answersTLS(wctx, p.addr)
		if err == nil {
			return nil
		}
		select {
		case <-wctx.Done():
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("step %s: machine %s did not answer within %s of the restart step %s scheduled (WinRM %s: %v)",
				st.Name, st.Machine, limit, p.step, p.addr, err)
		case <-time.After(wait):
		}
	}
}

// answersTLS completes a TLS handshake with addr within 3 seconds, whatever
// its certificate (only whether the listener is there matters; the step's
// client checks the certificate).
func answersTLS(ctx context.Context, addr string) error {
	hctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	_, err := tlspin.Handshake(hctx, addr)
	return err
}
