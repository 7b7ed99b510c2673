// Package ssh is the `ssh` probe: it runs shell commands on a Linux (or any POSIX)
// lab machine over SSH and reports their output and exit status.
//
// # Params
//
//	probe:
//	  type: ssh
//	  command: systemctl is-active ssh   # required: run with /bin/sh -c
//	  stdin: "text given to the command" # optional; otherwise stdin is /dev/null
//	  timeout: 20s                       # optional, per command (default 30s)
//	  port: 2222                         # optional: default the machine's ssh port, else 22
//
// # Values (what `expect` matchers address)
//
//   - stdout (string): the command's standard output, one trailing newline removed
//   - stderr (string): its standard error, one trailing newline removed
//   - exit_code (int): its exit status (128+N when killed by signal N)
//   - lines ([]string): stdout split into lines (empty list when there is none)
//
// A command that exits non-zero is an observation (the check may then fail); the
// check is an `error` (Observation.Err) only when the probe could not observe:
// the machine is unreachable, authentication fails, the host key is refused, or the
// command outlived its timeout (it is then killed).
//
// # Batching: one connection, one session, one script
//
// Run opens ONE SSH connection per machine and ONE session on it, which runs a
// generated POSIX sh script (read by `sh -s` from the session's stdin). The script
// runs the checks' commands at once, up to Parallel (default 8), each under its
// own watchdog (setsid + kill of the process group when setsid exists), so a
// machine takes about as long as its slowest check; a check that declares
// `exclusive: true` (one that restarts a service) runs alone. The script prints
// delimited, length-prefixed stdout/stderr/exit-code records behind a random
// marker, one check's records together, so N checks cost one round trip and no
// command output can be mistaken for a delimiter. Output beyond 1 MiB per stream
// is cut (and says so in the evidence).
//
// # Credentials
//
// From Target.Creds("ssh"): User, and PrivateKey (PEM: OpenSSH, PKCS#1/#8) and/or
// Password (also answered to keyboard-interactive prompts). Secrets are revealed only
// when handed to the SSH library; evidence goes through Target.Masker.
//
// # Host keys
//
// The policy is the probe's (set by whoever builds the registry from the session
// store), see HostKeyPolicy. The default suits exam labs, whose machines are created
// fresh with new host keys for every session on an isolated management network:
// accept the presented key and record its SHA256 fingerprint in every check's
// evidence. Pinned fingerprints (per machine name or address) or a known_hosts file
// make the probe verify the key; RequireKnown refuses any host that neither names.
// A target's own SSHHostKey (the key tailab generated and pinned at `up`) comes
// first: another key is an error naming both fingerprints.
package ssh

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	xssh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/internal/sshpin"
	"github.com/tailab/tailab/internal/yamlx"
)

// Type is the probe's name in suites.
const Type = "ssh"

// DefaultTimeout is a command's timeout when neither the check nor the runner sets one.
const DefaultTimeout = 30 * time.Second

// DefaultDialTimeout bounds connecting and authenticating.
const DefaultDialTimeout = 15 * time.Second

// Params are one check's ssh probe parameters.
type Params struct {
	Command string        `yaml:"command"`
	Stdin   *string       `yaml:"stdin"`
	Timeout time.Duration `yaml:"timeout"`
	// Port, set, is the port this check connects to (checks of one machine on
	// different ports use one connection per port).
	Port int `yaml:"port"`

	Positions yamlx.Positions `yaml:"-"`
}

// Validate reports a missing command, a bad timeout or port.
func (p *Params) Validate(d *yamlx.Decoder, at yamlx.Pos, field string) {
	if strings.TrimSpace(p.Command) == "" {
		d.Diags.Add(p.Positions.Of("command", at), join(field, "command"), "missing command (the shell command to run on the machine)")
	}
	if p.Timeout < 0 {
		d.Diags.Add(p.Positions.Of("timeout", at), join(field, "timeout"), "timeout must be positive")
	}
	probe.ValidatePort(d, p.Port, p.Positions.Of("port", at), field)
}

func join(field, key string) string { return probe.JoinField(field, key) }

// HostKeyPolicy says which host keys the probe accepts. The zero value accepts any
// key and records its fingerprint in the evidence.
type HostKeyPolicy struct {
	// Pins maps a machine name, an address or "address:port" to the SHA256
	// fingerprint ("SHA256:...") its host key must have.
	Pins map[string]string
	// KnownHostsFile is an OpenSSH known_hosts file; a host listed there must
	// present a listed key.
	KnownHostsFile string
	// RequireKnown refuses hosts that are neither pinned nor in KnownHostsFile.
	RequireKnown bool
}

// Probe is the ssh probe. Its zero value is ready to use.
type Probe struct {
	HostKeys    HostKeyPolicy
	DialTimeout time.Duration // default DefaultDialTimeout
	// Parallel is how many checks of a machine run at once (default
	// DefaultParallel; 1 runs them one after the other).
	Parallel int
}

var _ probe.Concurrent = (*Probe)(nil)

// Concurrency returns how many checks of a machine run at once.
func (p *Probe) Concurrency() int {
	if p.Parallel > 0 {
		return p.Parallel
	}
	return DefaultParallel
}

// New returns an ssh probe with the default host-key policy.
func New() *Probe { return &Probe{} }

// Type returns "ssh".
func (*Probe) Type() string { return Type }

// NewParams returns empty ssh parameters.
func (*Probe) NewParams() probe.Params { return &Params{} }

// timeoutOf is the smallest timeout set by the check's params or the runner.
func timeoutOf(p *Params, r probe.Request) time.Duration {
	return probe.Timeout(p.Timeout, r, DefaultTimeout)
}

// Run runs every request's command on the machine through one connection and one
// session (one per port when checks name their own `port`).
func (p *Probe) Run(ctx context.Context, t probe.Target, reqs []probe.Request) ([]probe.Observation, error) {
	return probe.RunByPort(ctx, t, Type, reqs, portOf, p.run)
}

func portOf(prm probe.Params) int {
	if p, ok := prm.(*Params); ok && p != nil {
		return p.Port
	}
	return 0
}

func (p *Probe) run(ctx context.Context, t probe.Target, reqs []probe.Request) ([]probe.Observation, error) {
	obs := make([]probe.Observation, len(reqs))
	jobs := make([]job, len(reqs))
	var total time.Duration
	for i, r := range reqs {
		obs[i].ID = r.ID
		prm, ok := r.Params.(*Params)
		if !ok || prm == nil {
			return nil, fmt.Errorf("ssh probe: request %q: params are %T, not *ssh.Params", r.ID, r.Params)
		}
		jobs[i] = job{command: prm.Command, stdin: prm.Stdin, timeout: timeoutOf(prm, r), exclusive: r.Exclusive}
		total += time.Duration(seconds(jobs[i].timeout))*time.Second + 3*time.Second
	}
	if len(reqs) == 0 {
		return obs, nil
	}
	start := time.Now()
	client, hk, err := p.connect(ctx, t)
	header := t.Masker.Mask(hk.describe(t))
	if err != nil {
		err = fmt.Errorf("ssh %s: %w", hostPort(t), err)
		for i := range obs {
			obs[i].Err, obs[i].Evidence, obs[i].Duration = err, header, time.Since(start)
		}
		return obs, err
	}
	defer client.Close()

	mark := newMarker()
	results := make([]result, len(reqs))
	runErr := runScript(ctx, client, buildScript(mark, jobs, p.Concurrency()), mark, results, total)

	for i, r := range reqs {
		res := results[i]
		obs[i].Duration = res.elapsed
		obs[i].Evidence = t.Masker.Mask(header + "\n" + evidence(r.Params.(*Params), jobs[i], res))
		switch {
		case !res.done:
			e := runErr
			if e == nil {
				e = errors.New("no result")
			}
			obs[i].Err = fmt.Errorf("ssh %s: check %q did not complete: %w", hostPort(t), r.ID, e)
		case res.timedOut:
			obs[i].Err = fmt.Errorf("ssh %s: command timed out after %s (killed)", hostPort(t), jobs[i].timeout)
		default:
			obs[i].Values = map[string]any{
				"stdout":    trimNL(res.stdout),
				"stderr":    trimNL(res.stderr),
				"exit_code": res.exitCode,
				"lines":     lines(res.stdout),
			}
		}
	}
	return obs, nil
}

// runScript starts `sh -s` in one session, feeds it the script and parses its
// output until done, ctx ends or the overall budget passes.
func runScript(ctx context.Context, client *xssh.Client, script, mark string, results []result, budget time.Duration) error {
	sess, err := client.NewSession()
	if err != nil {
		return fmt.Errorf("open session: %w", err)
	}
	defer sess.Close()
	stdout, err := sess.StdoutPipe()
	if err != nil {
		return fmt.Errorf("session stdout: %w", err)
	}
	var stderr bytes.Buffer
	sess.Stderr = &stderr
	sess.Stdin = strings.NewReader(script)
	if err := sess.Start("sh -s"); err != nil {
		return fmt.Errorf("start sh: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { client.Close() })
	defer stop()
	perr := parseOutput(stdout, mark, results, time.Now)
	if ctx.Err() != nil {
		return fmt.Errorf("deadline reached: %w", ctx.Err())
	}
	if perr != nil {
		if werr := sess.Wait(); werr != nil {
			perr = fmt.Errorf("%w (shell: %v; stderr: %s)", perr, werr, strings.TrimSpace(stderr.String()))
		}
		return perr
	}
	return nil
}

// hostKeyInfo records the key the server presented and how it was judged.
type hostKeyInfo struct {
	key     xssh.PublicKey
	verdict string
}

func (h hostKeyInfo) describe(t probe.Target) string {
	who := hostPort(t)
	if c := t.Creds("ssh"); c.User != "" {
		who = c.User + "@" + who
	}
	if h.key == nil {
		return "ssh " + who
	}
	return fmt.Sprintf("ssh %s, host key %s %s (%s)", who, h.key.Type(), xssh.FingerprintSHA256(h.key), h.verdict)
}

func hostPort(t probe.Target) string {
	return net.JoinHostPort(t.Address, strconv.Itoa(t.Port("ssh", 22)))
}

// Dial connects to the target and authenticates as the grader does (its
// credentials, the host key `up` pinned: another is refused, naming both), for
// the admin's own sessions (`tailab ssh`, `tailab exec`). The caller closes
// the client.
func (p *Probe) Dial(ctx context.Context, t probe.Target) (*xssh.Client, error) {
	c, _, err := p.connect(ctx, t)
	if err != nil {
		return nil, fmt.Errorf("ssh %s: %w", hostPort(t), err)
	}
	return c, nil
}

// connect dials the target and authenticates, within ctx and the dial timeout.
func (p *Probe) connect(ctx context.Context, t probe.Target) (*xssh.Client, hostKeyInfo, error) {
	var hk hostKeyInfo
	creds := t.Creds("ssh")
	if creds.User == "" {
		return nil, hk, errors.New("no ssh user in the machine's credentials")
	}
	var auths []xssh.AuthMethod
	if !creds.PrivateKey.IsZero() {
		signer, err := xssh.ParsePrivateKey([]byte(creds.PrivateKey.Reveal()))
		if err != nil {
			return nil, hk, fmt.Errorf("private key: %w", err)
		}
		auths = append(auths, xssh.PublicKeys(signer))
	}
	if !creds.Password.IsZero() {
		pw := creds.Password
		auths = append(auths, xssh.Password(pw.Reveal()),
			xssh.KeyboardInteractive(func(_, _ string, qs []string, _ []bool) ([]string, error) {
				ans := make([]string, len(qs))
				for i := range ans {
					ans[i] = pw.Reveal()
				}
				return ans, nil
			}))
	}
	if len(auths) == 0 {
		return nil, hk, errors.New("no ssh password or private key in the machine's credentials")
	}
	dt := p.DialTimeout
	if dt <= 0 {
		dt = DefaultDialTimeout
	}
	dctx, cancel := context.WithTimeout(ctx, dt)
	defer cancel()
	addr := hostPort(t)
	cfg := &xssh.ClientConfig{
		User: creds.User,
		Auth: auths,
		HostKeyCallback: func(hostname string, remote net.Addr, key xssh.PublicKey) error {
			hk.key = key
			verdict, err := p.HostKeys.check(t, addr, remote, key)
			hk.verdict = verdict
			return err
		},
		Timeout: dt,
	}
	var d net.Dialer
	conn, err := d.DialContext(dctx, "tcp", addr)
	if err != nil {
		return nil, hk, fmt.Errorf("connect: %w", err)
	}
	if dl, ok := dctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(dctx, func() { conn.Close() })
	c, chans, reqs, err := xssh.NewClientConn(conn, addr, cfg)
	stopped := stop()
	if err != nil {
		conn.Close()
		if !stopped || dctx.Err() != nil {
			return nil, hk, fmt.Errorf("handshake: %w (%v)", err, dctx.Err())
		}
		return nil, hk, fmt.Errorf("handshake: %w", err)
	}
	_ = conn.SetDeadline(time.Time{})
	return xssh.NewClient(c, chans, reqs), hk, nil
}

// check applies the policy to a presented key and returns the evidence verdict.
func (pol HostKeyPolicy) check(t probe.Target, addr string, remote net.Addr, key xssh.PublicKey) (string, error) {
	fp := xssh.FingerprintSHA256(key)
	if want := t.SSHHostKey; want != "" {
		if err := sshpin.Check(want, key); err != nil {
			return "REFUSED: expected " + want, err
		}
		return "pinned at up", nil
	}
	for _, k := range []string{t.Machine, t.Address, addr} {
		if want, ok := pol.Pins[k]; ok && k != "" {
			if want != fp {
				return "REFUSED: pinned " + want, fmt.Errorf("host key %s does not match the pinned fingerprint %s", fp, want)
			}
			return "pinned", nil
		}
	}
	if pol.KnownHostsFile != "" {
		cb, err := knownhosts.New(pol.KnownHostsFile)
		if err != nil {
			return "REFUSED", fmt.Errorf("known_hosts: %w", err)
		}
		err = cb(addr, remote, key)
		var ke *knownhosts.KeyError
		switch {
		case err == nil:
			return "known_hosts", nil
		case errors.As(err, &ke) && len(ke.Want) > 0:
			return "REFUSED: known_hosts lists another key", fmt.Errorf("host key %s does not match %s: %w", fp, pol.KnownHostsFile, err)
		case !errors.As(err, &ke):
			return "REFUSED", err
		}
	}
	if pol.RequireKnown {
		return "REFUSED: unknown host", fmt.Errorf("host key %s: host is neither pinned nor in known_hosts", fp)
	}
	return "accepted, not verified", nil
}

func trimNL(s string) string {
	s = strings.TrimSuffix(s, "\n")
	return strings.TrimSuffix(s, "\r")
}

func lines(s string) []string {
	s = trimNL(s)
	if s == "" {
		return []string{}
	}
	ls := strings.Split(s, "\n")
	for i, l := range ls {
		ls[i] = strings.TrimSuffix(l, "\r")
	}
	return ls
}

// evidence renders one check's transcript (masked by the caller).
func evidence(p *Params, j job, r result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "$ %s\n", p.Command)
	if p.Stdin != nil {
		fmt.Fprintf(&b, "(stdin: %d bytes)\n", len(*p.Stdin))
	}
	if !r.done {
		b.WriteString("(no result)\n")
		return b.String()
	}
	section := func(name, text string, trunc bool) {
		if text == "" {
			return
		}
		fmt.Fprintf(&b, "--- %s\n%s", name, text)
		if !strings.HasSuffix(text, "\n") {
			b.WriteString("\n")
		}
		if trunc {
			fmt.Fprintf(&b, "(%s cut at %d bytes)\n", name, maxOutput)
		}
	}
	section("stdout", r.stdout, r.outTrunc)
	section("stderr", r.stderr, r.errTrunc)
	if r.timedOut {
		fmt.Fprintf(&b, "--- killed after timeout %s (exit %d)\n", j.timeout, r.exitCode)
	} else {
		fmt.Fprintf(&b, "--- exit code %d (%.2fs)\n", r.exitCode, r.elapsed.Seconds())
	}
	return b.String()
}
