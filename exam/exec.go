package exam

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/checks/probe/ssh"
	"github.com/tailab/tailab/internal/audit"
	"github.com/tailab/tailab/internal/errclass"
	"github.com/tailab/tailab/provision"
)

// ExecOptions are those of `tailab exec`.
type ExecOptions struct {
	DataDir, Session string
	// Candidates whose machine runs the command; none, or "all", is every
	// candidate of the session.
	Candidates []string
	Machine    string
	Command    string
	// Parallel bounds how many machines run it at once (default 8).
	Parallel int
}

// ExecResult is one candidate's run, as `tailab exec -o json` prints it.
type ExecResult struct {
	Candidate string  `json:"candidate"`
	Machine   string  `json:"machine"`
	ExitCode  int     `json:"exit_code"`        // -1 when the command did not run (Error)
	Error     string  `json:"error,omitempty"`  // the machine could not be reached
	Stdout    string  `json:"stdout"`           // secrets of the lab masked
	Stderr    string  `json:"stderr"`           // likewise
	Seconds   float64 `json:"duration_seconds"` // connection included
}

// execOutputLimit bounds what is kept of each stream of each candidate.
const execOutputLimit = 1 << 20

// Exec runs a command on a machine of each candidate in parallel (bounded)
// and returns the results in roster order. Each run is audited before it
// starts and when it ends; a machine that cannot be reached is its result's
// Error, not the call's.
func Exec(ctx context.Context, o ExecOptions) ([]ExecResult, error) {
	if o.Session == "" || o.Machine == "" || o.Command == "" {
		return nil, errclass.Usagef("--session, --machine and a command (after --) are required")
	}
	only := o.Candidates
	if len(only) == 1 && only[0] == "all" {
		only = nil
	}
	st, sess, err := OpenSession(o.DataDir, o.Session, only...)
	if err != nil {
		return nil, err
	}
	targets, err := adminTargets(st, sess, only, o.Machine)
	if err != nil {
		return nil, err
	}
	par := o.Parallel
	if par <= 0 {
		par = 8
	}
	out := make([]ExecResult, len(targets))
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	var auditErr error
	var mu sync.Mutex
	before := make([]provision.AuditEntry, len(targets))
	for i, t := range targets {
		before[i] = provision.AuditEntry{Action: "exec", Candidate: t.Candidate, Machine: t.Machine,
			Facts: &audit.Facts{Kind: audit.Exec, Command: t.Masker.Mask(trimDetail(o.Command))}}
	}
	if err := st.Audit(sess.Name, before...); err != nil { // one transaction, before anything runs
		return nil, err
	}
	for i, t := range targets {
		a := adminAudit{st: st, session: sess.Name, action: "exec", candidate: t.Candidate, machine: t.Machine}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			a.start = time.Now()
			r := execOne(ctx, t, o.Command)
			r.Seconds = time.Since(a.start).Seconds()
			var err error
			if r.Error != "" {
				err = a.add(audit.Failure(time.Duration(r.Seconds*float64(time.Second)), errors.New(r.Error)))
			} else {
				err = a.add(audit.Exit(r.ExitCode))
			}
			mu.Lock()
			defer mu.Unlock()
			out[i] = r
			if err != nil && auditErr == nil {
				auditErr = err
			}
		}()
	}
	wg.Wait()
	return out, auditErr
}

// execOne runs the command on one target.
func execOne(ctx context.Context, t probe.Target, command string) ExecResult {
	r := ExecResult{Candidate: t.Candidate, Machine: t.Machine, ExitCode: -1}
	fail := func(err error) ExecResult { r.Error = t.Masker.Mask(err.Error()); return r }
	if t.Address == "" {
		return fail(notStarted(t))
	}
	client, err := ssh.New().Dial(ctx, t)
	if err != nil {
		return fail(err)
	}
	defer client.Close()
	s, err := client.NewSession()
	if err != nil {
		return fail(fmt.Errorf("open session: %w", err))
	}
	defer s.Close()
	var stdout, stderr limitedBuffer
	s.Stdout, s.Stderr = &stdout, &stderr
	stop := context.AfterFunc(ctx, func() { client.Close() })
	defer stop()
	code, err := exitStatus(s.Run(command))
	if err != nil {
		return fail(err)
	}
	r.ExitCode, r.Stdout, r.Stderr = code, t.Masker.Mask(stdout.String()), t.Masker.Mask(stderr.String())
	return r
}

// limitedBuffer keeps the first execOutputLimit bytes written to it.
type limitedBuffer struct {
	bytes.Buffer
	cut bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := execOutputLimit - b.Len(); len(p) > room {
		b.Buffer.Write(p[:max(room, 0)])
		b.cut = true
		return len(p), nil
	}
	return b.Buffer.Write(p)
}

func (b *limitedBuffer) String() string {
	if b.cut {
		return b.Buffer.String() + fmt.Sprintf("\n[… output cut at %d bytes]\n", execOutputLimit)
	}
	return b.Buffer.String()
}

// ExecVerdict is the error `tailab exec` ends with: nil when every command
// exited 0, Infra when a machine could not be reached (an error, never a
// failure), else Failed. Silent: the summary said it.
func ExecVerdict(rs []ExecResult) error {
	var unreachable, failed bool
	for _, r := range rs {
		unreachable = unreachable || r.Error != ""
		failed = failed || r.ExitCode != 0
	}
	switch {
	case unreachable:
		return errclass.Silent(errclass.Infra)
	case failed:
		return errclass.Silent(errclass.Failed)
	}
	return nil
}

// PrintExec writes the results grouped per candidate, in order, then one
// summary line; format "json" writes them as a JSON array instead.
func PrintExec(w io.Writer, rs []ExecResult, format string) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if rs == nil {
			rs = []ExecResult{}
		}
		return enc.Encode(rs)
	}
	var ok, bad []string
	for _, r := range rs {
		status := fmt.Sprintf("exit %d", r.ExitCode)
		if r.Error != "" {
			status = "error"
		}
		fmt.Fprintf(w, "── %s %s: %s (%.1f s)\n", r.Candidate, r.Machine, status, r.Seconds)
		for _, s := range []string{r.Stdout, r.Stderr, r.Error} {
			if s != "" {
				fmt.Fprint(w, s)
				if !strings.HasSuffix(s, "\n") {
					fmt.Fprintln(w)
				}
			}
		}
		if r.Error == "" && r.ExitCode == 0 {
			ok = append(ok, r.Candidate)
		} else {
			bad = append(bad, r.Candidate+" ("+status+")")
		}
	}
	line := fmt.Sprintf("%d candidate(s): %d exited 0", len(rs), len(ok))
	if len(bad) > 0 {
		line += fmt.Sprintf(", %d did not: %s", len(bad), strings.Join(bad, ", "))
	}
	_, err := fmt.Fprintln(w, line)
	return err
}
