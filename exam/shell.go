package exam

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	xssh "golang.org/x/crypto/ssh"
	"golang.org/x/term"

	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/checks/probe/ssh"
	"github.com/tailab/tailab/internal/audit"
	"github.com/tailab/tailab/internal/errclass"
	"github.com/tailab/tailab/provision"
)

// The admin's own way into a candidate's machine (`tailab ssh`, `tailab
// exec`): over the management path, as the grader gets in (the machine's
// ssh credentials, the session's key, which never leaves tailab; the host key
// `up` pinned), every use audited before it runs — a root command on a
// candidate's machine during the exam is an intervention the jury reads.

// ShellOptions are those of `tailab ssh`.
type ShellOptions struct {
	DataDir, Session, Candidate, Machine string
	// Command runs instead of an interactive shell ("" for the shell).
	Command string
	Stdin   io.Reader // an *os.File on a terminal gets a pty, its size and raw mode
	Stdout  io.Writer
	Stderr  io.Writer
}

// Shell opens a shell (or runs Command) on a candidate's machine with
// the admin's credentials and returns the remote exit status (128+N for a
// signal N, as a shell reports it).
func Shell(ctx context.Context, o ShellOptions) (int, error) {
	if o.Session == "" || o.Candidate == "" || o.Machine == "" {
		return 0, errclass.Usagef("--session, --candidate and --machine are required")
	}
	st, sess, err := OpenSession(o.DataDir, o.Session, o.Candidate)
	if err != nil {
		return 0, err
	}
	targets, err := adminTargets(st, sess, []string{o.Candidate}, o.Machine)
	if err != nil {
		return 0, err
	}
	t := targets[0]
	what := &audit.Facts{Kind: audit.Shell}
	if o.Command != "" {
		what = &audit.Facts{Kind: audit.Exec, Command: t.Masker.Mask(trimDetail(o.Command))}
	}
	a := adminAudit{st: st, session: sess.Name, action: "ssh", candidate: o.Candidate, machine: o.Machine, start: time.Now()}
	if err := a.add(what); err != nil {
		return 0, err
	}
	if t.Address == "" {
		return 0, a.failed(notStarted(t))
	}
	client, err := ssh.New().Dial(ctx, t)
	if err != nil {
		return 0, a.failed(err)
	}
	defer client.Close()
	code, err := runShell(ctx, client, o)
	if err != nil {
		return 0, a.failed(err)
	}
	return code, a.add(audit.Exit(code))
}

// runShell runs the session: a pty when stdin is a terminal and no command is
// given (raw mode, window size followed), plain streams otherwise.
func runShell(ctx context.Context, client *xssh.Client, o ShellOptions) (int, error) {
	s, err := client.NewSession()
	if err != nil {
		return 0, fmt.Errorf("open session: %w", err)
	}
	defer s.Close()
	s.Stdin, s.Stdout, s.Stderr = o.Stdin, o.Stdout, o.Stderr
	if f, ok := o.Stdin.(*os.File); ok && o.Command == "" && term.IsTerminal(int(f.Fd())) {
		fd := int(f.Fd())
		w, h, err := term.GetSize(fd)
		if err != nil {
			w, h = 80, 24
		}
		termName := os.Getenv("TERM")
		if termName == "" {
			termName = "xterm"
		}
		if err := s.RequestPty(termName, h, w, xssh.TerminalModes{xssh.ECHO: 1}); err != nil {
			return 0, fmt.Errorf("pty: %w", err)
		}
		old, err := term.MakeRaw(fd)
		if err != nil {
			return 0, fmt.Errorf("raw mode: %w", err)
		}
		defer func() { _ = term.Restore(fd, old) }()
		winch := make(chan os.Signal, 1)
		signal.Notify(winch, syscall.SIGWINCH)
		defer signal.Stop(winch)
		go func() {
			for range winch {
				if w, h, err := term.GetSize(fd); err == nil {
					_ = s.WindowChange(h, w)
				}
			}
		}()
	}
	if o.Command == "" {
		err = s.Shell()
	} else {
		err = s.Start(o.Command)
	}
	if err != nil {
		return 0, fmt.Errorf("start: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { client.Close() })
	defer stop()
	return exitStatus(s.Wait())
}

// exitStatus is the remote exit status of a session's end.
func exitStatus(err error) (int, error) {
	var ee *xssh.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &ee):
		return ee.ExitStatus(), nil
	}
	return 0, fmt.Errorf("session: %w", err)
}

// adminTargets are the machine of each candidate as the grader reaches it,
// in roster order. A machine the lab lacks, or without ssh credentials, is
// refused for all; one not started has no Address (each caller says so).
func adminTargets(st *provision.State, sess *provision.Session, candidates []string, machine string) ([]probe.Target, error) {
	lab, err := sess.LoadLab()
	if err != nil {
		return nil, err
	}
	var names []string
	found := false
	for _, m := range lab.Machines {
		names = append(names, m.Name)
		if m.Name == machine {
			found = true
			if _, ok := m.Credentials["ssh"]; !ok {
				return nil, errclass.Usagef("machine %s has no ssh credentials in lab %s: tailab reaches it over ssh only", machine, lab.Name)
			}
		}
	}
	if !found {
		return nil, errclass.NotFoundf("lab %s has no machine %q (its machines: %s)", lab.Name, machine, strings.Join(names, ", "))
	}
	cands, _, err := Bind(st, sess, lab, candidates)
	if err != nil {
		return nil, err
	}
	out := make([]probe.Target, len(cands))
	for i, c := range cands {
		out[i] = c.Machines[machine]
	}
	return out, nil
}

func notStarted(t probe.Target) error {
	return fmt.Errorf("%s's %s has no management address: is it up? (tailab status --session %s)", t.Candidate, t.Machine, t.Session)
}

// trimDetail bounds a command in the audit log.
func trimDetail(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

// adminAudit writes an admin session's audit entries: one before it runs,
// one when it ends (its status, or how it failed).
type adminAudit struct {
	st                                  *provision.State
	session, action, candidate, machine string
	start                               time.Time
}

func (a adminAudit) add(f *audit.Facts) error {
	return a.st.Audit(a.session, provision.AuditEntry{Action: a.action, Candidate: a.candidate, Machine: a.machine, Facts: f})
}

// failed audits err (the audit's own failure is added to it) and returns it.
func (a adminAudit) failed(err error) error {
	if aerr := a.add(audit.Failure(time.Since(a.start), err)); aerr != nil {
		return errors.Join(err, aerr)
	}
	return err
}
