// Package winrm is the `winrm` probe: it evaluates PowerShell on a Windows lab
// machine over WinRM (WS-Management over HTTPS, port 5986 by default) and reports
// what each check's script returned, as JSON decoded into Go values.
//
// # Params
//
//	probe:
//	  type: winrm
//	  script: |                    # required: PowerShell whose output is the value
//	    Get-CimInstance Win32_OperatingSystem |
//	      Select-Object Caption, BuildNumber, OSLanguage
//	  timeout: 20s                 # optional, per check (default 30s)
//	  depth: 4                     # optional, ConvertTo-Json -Depth (default 4, 1..20)
//	  port: 5986                   # optional: default the machine's winrm port, else 5986
//
// # Values (what `expect` matchers address)
//
//   - ok (bool): true when the script ran to its end, false when it threw.
//   - value: the script's output through ConvertTo-Json -Compress, decoded: null
//     when it output nothing, the object itself when it output one, a list when
//     it output several. Objects are map[string]any, lists []any, integers int64,
//     other numbers float64; Windows PowerShell 5.1's "/Date(ms)/" strings become
//     RFC 3339 UTC times ("2024-05-02T08:30:00Z"); enums are their numbers.
//   - when value is an object, each of its keys is also a top-level value,
//     without prefix (`BuildNumber`, `Caption`), except the reserved names ok,
//     error, error_type and value: an object's own key of that name stays
//     reachable only under value.
//   - error (string) and error_type (string, the .NET exception type) when ok is
//     false: the message of what the script threw.
//
// Each script runs with $ErrorActionPreference = 'Stop', so a cmdlet error
// (Get-LocalUser of a missing user, Get-Item of a missing path) ends the check
// with ok false; write `-ErrorAction SilentlyContinue` where absence is a valid
// answer. A script that throws is the candidate's machine answering: the check
// is observed (ok false, usually a `fail`), never an `error`. The check is an
// `error` (Observation.Err) only when the probe could not observe: the machine
// is unreachable, TLS or authentication fails, the overall deadline passes, or
// the check's own script outlived its timeout (it is then stopped).
//
// # One shell, one command per machine
//
// Run opens ONE WinRM shell per machine and runs ONE command in it,
// `powershell.exe -NoProfile -NonInteractive -Command -`, whose stdin is a
// generated program holding every check of the batch; its requests go one at a
// time over one HTTPS connection (one NTLM handshake). The program is sent on
// stdin, not with -EncodedCommand, whose command line caps near 8,191 characters
// of UTF-16 base64 (about 3,000 characters of script).
//
// What `-Command -` really does with stdin shapes the program: PowerShell reads
// it like an interactive prompt, one statement at a time; a statement spanning
// several lines runs only once an empty line follows it, and an incomplete or
// unparsable statement is silently skipped (PowerShell issues #3223, #2068,
// #21808). So the program is a single `& { ... }` statement with no empty line
// inside, followed by one empty line; its lines end in CR LF. It is pure ASCII,
// so the console input code page cannot garble it: each check's script travels
// as base64 of its UTF-8 text and is turned back into a script with
// [Text.Encoding]::UTF8 on the machine, so multi-line scripts, braces on their
// own lines, here-strings and accents (é, à) all survive.
//
// On the machine, each check runs in its own pipeline ([PowerShell]::Create())
// on a shared runspace, inside its own try/catch, and is waited for up to its
// timeout (a check that overruns is stopped and the next ones get a fresh
// runspace). Its output is converted with `ConvertTo-Json -Depth N -Compress`;
// what it throws becomes {"ok":false,"error":...}. The program then writes ONE
// JSON document keyed by check id,
//
//	{"<id>": {"ok":true,"value":...} | {"ok":false,"error":"...","error_type":"..."}}
//
// as raw UTF-8 bytes on stdout ([Console]::OutputEncoding is set to UTF-8 as
// well, and the shell is opened with code page 65001), framed by two marker
// lines carrying a random nonce, so nothing else a machine prints can be taken
// for the result. stderr, which powershell.exe writes as CLIXML ("#< CLIXML"
// then <S S="Error"> records), is decoded to text (DecodeCLIXML) for the
// evidence and for errors.
//
// # Credentials and TLS
//
// From Target.Creds("winrm"): User (with Domain, if set, as DOMAIN\User) and
// Password, revealed only when the request's credentials are set. NTLM (default,
// as Windows enables it) or Basic (WinRM's Basic must be enabled). The server
// certificate is checked, the first rule that applies winning: not at all with
// Insecure; against CACert/CAFile (a centre's own PKI, `tailab grade
// --winrm-ca`); against Target.TLSPin, the fingerprint of the self-signed
// certificate the machine presented when `tailab up` found it ready (trust on
// first use: any other certificate is an error, a *tlspin.MismatchError, never a fail);
// else against the system roots. Evidence is each check's script and its JSON
// result, masked with Target.Masker and the password.
package winrm

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/internal/secret"
	"github.com/tailab/tailab/internal/userfile"
	"github.com/tailab/tailab/internal/yamlx"
)

// Type is the probe's name in suites.
const Type = "winrm"

// Defaults.
const (
	DefaultPort             = 5986
	DefaultTimeout          = 30 * time.Second // a check's timeout
	DefaultDepth            = 4
	MaxDepth                = 20
	DefaultOperationTimeout = 20 * time.Second // how long one Receive waits on the machine
	DefaultRequestTimeout   = 30 * time.Second // margin of one HTTP request beyond its operation timeout
	DefaultDialTimeout      = 15 * time.Second
	DefaultEnvelopeSize     = 153600
)

// Authentication schemes.
const (
	AuthNTLM  = "ntlm"
	AuthBasic = "basic"
)

// Params are one check's winrm probe parameters.
type Params struct {
	Script  string        `yaml:"script"`
	Timeout time.Duration `yaml:"timeout"`
	Depth   int           `yaml:"depth"`
	// Port, set, is the port this check connects to (default the machine's
	// winrm port, else the probe's).
	Port int `yaml:"port"`

	Positions yamlx.Positions `yaml:"-"`
}

// Validate reports a missing script, a bad timeout or depth.
func (p *Params) Validate(d *yamlx.Decoder, at yamlx.Pos, field string) {
	if strings.TrimSpace(p.Script) == "" {
		d.Diags.Add(p.Positions.Of("script", at), join(field, "script"), "missing script (PowerShell whose output is the check's value)")
	}
	if p.Timeout < 0 {
		d.Diags.Add(p.Positions.Of("timeout", at), join(field, "timeout"), "timeout must be positive")
	}
	if p.Depth < 0 || p.Depth > MaxDepth {
		d.Diags.Add(p.Positions.Of("depth", at), join(field, "depth"), "depth must be between 1 and %d (ConvertTo-Json -Depth)", MaxDepth)
	}
	probe.ValidatePort(d, p.Port, p.Positions.Of("port", at), field)
}

func join(field, key string) string { return probe.JoinField(field, key) }

// WinRM is the winrm probe. Its zero value uses NTLM and the system's roots.
type WinRM struct {
	Auth          string // AuthNTLM (default) or AuthBasic
	Port          int    // default DefaultPort; Target.Ports["winrm"] overrides it
	CACert        []byte // PEM bundle the machines' certificates chain to
	CAFile        string // or a file holding it
	Insecure      bool   // accept any certificate (lab self-signed ones)
	TLSServerName string // name to verify instead of the address

	DefaultTimeout   time.Duration // a check's timeout when neither it nor the runner sets one
	OperationTimeout time.Duration // w:OperationTimeout of Receive (long poll)
	RequestTimeout   time.Duration // HTTP margin beyond each request's operation timeout
	DialTimeout      time.Duration
	EnvelopeSize     int    // w:MaxEnvelopeSize
	Locale           string // w:Locale (default en-US)
}

var _ probe.Probe = (*WinRM)(nil)

// New returns a winrm probe with the defaults (NTLM, verified certificates).
func New() *WinRM { return &WinRM{} }

// Type returns "winrm".
func (*WinRM) Type() string { return Type }

// NewParams returns empty winrm parameters.
func (*WinRM) NewParams() probe.Params { return &Params{} }

func (p *WinRM) auth() string {
	if strings.EqualFold(p.Auth, AuthBasic) {
		return AuthBasic
	}
	return AuthNTLM
}

func orDefault[T int | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

func (p *WinRM) dialTimeout() time.Duration { return orDefault(p.DialTimeout, DefaultDialTimeout) }
func (p *WinRM) requestTimeout() time.Duration {
	return orDefault(p.RequestTimeout, DefaultRequestTimeout)
}
func (p *WinRM) opTimeout() time.Duration {
	return orDefault(p.OperationTimeout, DefaultOperationTimeout)
}
func (p *WinRM) envelopeSize() int { return max(orDefault(p.EnvelopeSize, DefaultEnvelopeSize), 16384) }

// timeoutOf is the smallest timeout set by the check's params or the runner.
func (p *WinRM) timeoutOf(prm *Params, r probe.Request) time.Duration {
	t := prm.Timeout
	if r.Timeout > 0 && (t == 0 || r.Timeout < t) {
		t = r.Timeout
	}
	return orDefault(t, orDefault(p.DefaultTimeout, DefaultTimeout))
}

// Run evaluates every request's script on the machine in one shell and one
// command (one per port when checks name their own `port`).
func (p *WinRM) Run(ctx context.Context, t probe.Target, reqs []probe.Request) ([]probe.Observation, error) {
	return probe.RunByPort(ctx, t, Type, reqs, func(prm probe.Params) int {
		if w, ok := prm.(*Params); ok && w != nil {
			return w.Port
		}
		return 0
	}, p.run)
}

func (p *WinRM) run(ctx context.Context, t probe.Target, reqs []probe.Request) ([]probe.Observation, error) {
	if len(reqs) == 0 {
		return nil, nil
	}
	jobs := make([]job, len(reqs))
	var budget time.Duration
	for i, r := range reqs {
		prm, ok := r.Params.(*Params)
		if !ok || prm == nil {
			return nil, fmt.Errorf("winrm probe: request %q: params are %T, not *winrm.Params", r.ID, r.Params)
		}
		to := p.timeoutOf(prm, r)
		jobs[i] = job{id: r.ID, script: prm.Script, timeout: int(to.Milliseconds()), depth: orDefault(prm.Depth, DefaultDepth)}
		budget += to
	}
	sess, host, creds, err := p.open(t)
	fail := func(err error) ([]probe.Observation, error) {
		err = fmt.Errorf("winrm %s: %w", host, err)
		return probe.ErrorObservations(reqs, err), err
	}
	if err != nil {
		return fail(err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, budget+time.Minute)
		defer cancel()
	}

	nonce := newNonce()
	start := time.Now()
	stdout, stderr, exit, err := exec(ctx, sess, buildProgram(nonce, jobs), p.opTimeout())
	elapsed := time.Since(start)
	mask := masker(t.Masker, creds.Password)
	errText := mask(DecodeCLIXML(string(stderr)))
	if err != nil {
		if ctx.Err() != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
			err = fmt.Errorf("%w (%w)", err, ctx.Err())
		}
		return fail(err)
	}
	doc, noise, err := extractDocument(stdout, nonce)
	if err != nil {
		detail := fmt.Sprintf("%s exited with code %d", CommandLine, exit)
		if errText != "" {
			detail += "; stderr: " + errText
		}
		if noise != "" {
			detail += "; stdout: " + mask(truncate(noise, 2000))
		}
		return fail(fmt.Errorf("%w (%s)", err, detail))
	}

	obs := make([]probe.Observation, len(reqs))
	for i, r := range reqs {
		o := &obs[i]
		o.ID, o.Duration = r.ID, elapsed
		raw, found := doc[r.ID]
		ev := "PS> " + strings.TrimRight(jobs[i].script, "\r\n") + "\n" + string(raw)
		if errText != "" {
			ev += "\nstderr: " + errText
		}
		o.Evidence = mask(ev)
		if !found {
			o.Err = fmt.Errorf("winrm %s: no result for check %q in the document", host, r.ID)
			continue
		}
		var e entry
		if err := jsonUnmarshal(raw, &e); err != nil {
			o.Err = fmt.Errorf("winrm %s: check %q: unreadable result: %w", host, r.ID, err)
			continue
		}
		switch {
		case e.Timeout:
			o.Err = fmt.Errorf("winrm %s: check %q: script timed out after %s (stopped)", host, r.ID, time.Duration(jobs[i].timeout)*time.Millisecond)
		case e.Internal:
			o.Err = fmt.Errorf("winrm %s: check %q: %s", host, r.ID, mask(e.Error))
		case !e.OK:
			o.Values = map[string]any{"ok": false, "error": mask(e.Error), "error_type": e.ErrorType}
		default:
			v, err := decodeValue(e.Value)
			if err != nil {
				o.Err = fmt.Errorf("winrm %s: check %q: unreadable value: %w", host, r.ID, err)
				continue
			}
			o.Values = values(v)
		}
	}
	return obs, nil
}

// open prepares the session to the target's WinRM endpoint with its "winrm"
// credentials; host (address:port) is returned even on error, for messages.
func (p *WinRM) open(t probe.Target) (sess *session, host string, creds probe.Credentials, err error) {
	host = net.JoinHostPort(t.Address, fmt.Sprint(t.Port(Type, orDefault(p.Port, DefaultPort))))
	creds = t.Creds(Type)
	if creds.User == "" {
		return nil, host, creds, errors.New("no WinRM credentials for this machine")
	}
	user := creds.User
	if creds.Domain != "" && !strings.ContainsAny(user, `\@`) {
		user = creds.Domain + `\` + user
	}
	cfg := *p
	if cfg.CAFile != "" && len(cfg.CACert) == 0 {
		pem, err := userfile.Read(cfg.CAFile)
		if err != nil {
			return nil, host, creds, fmt.Errorf("CA bundle: %w", err)
		}
		cfg.CACert = pem
	}
	sess, err = newSession("https://"+host+"/wsman", user, creds.Password.Reveal(), t.TLSPin, &cfg)
	return sess, host, creds, err
}

// ErrNotStarted marks (errors.Is) a failure before the program reached the
// machine: the shell or the command could not be created (the machine refused
// the connection, reset it, did not answer, or refused the credentials), so
// nothing of it ran and running it again is safe.
var ErrNotStarted = errors.New("the command did not start")

// notStartedError is an error of the requests that precede the program.
type notStartedError struct{ err error }

func (e *notStartedError) Error() string   { return e.err.Error() }
func (e *notStartedError) Unwrap() []error { return []error{e.err, ErrNotStarted} }

// exec runs the program in one shell and one command, and always cleans up.
// Until the command exists, no stdin is sent: an error then is ErrNotStarted.
func exec(ctx context.Context, s *session, program string, opTimeout time.Duration) (stdout, stderr []byte, exit int, err error) {
	defer s.close()
	shellID, err := s.createShell(ctx)
	if err != nil {
		return nil, nil, 0, &notStartedError{err}
	}
	var cmdID string
	defer func() { s.cleanup(ctx, shellID, cmdID) }()
	if cmdID, err = s.startCommand(ctx, shellID); err != nil {
		return nil, nil, 0, &notStartedError{err}
	}
	if err = s.sendStdin(ctx, shellID, cmdID, []byte(program)); err != nil {
		return nil, nil, 0, err
	}
	return s.receive(ctx, shellID, cmdID, opTimeout)
}

// masker returns a function scrubbing the target's secrets and the password.
func masker(m *secret.Masker, password secret.Value) func(string) string {
	pw := password.Reveal()
	return func(s string) string {
		s = m.Mask(s)
		if len(pw) >= 3 {
			s = strings.ReplaceAll(s, pw, secret.Mask)
		}
		return s
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
