package winrm

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/tailab/tailab/checks/probe"
)

// ScriptResult is what a script run by RunScript printed and how it ended.
type ScriptResult struct {
	// Stdout is the script's output (objects rendered by Out-String, Write-Host
	// text); Stderr its error and warning records and, decoded from CLIXML, what
	// powershell.exe itself reported. Both are masked with the target's secrets
	// and the WinRM password.
	Stdout, Stderr string
	// ExitCode is the script's: `exit N` or the last native command's
	// $LASTEXITCODE; 1 when the script threw (a terminating error).
	ExitCode int
}

// RunScript runs one PowerShell script on the machine, as a fault or solution
// step does, over the same client as the probe: one shell, one command
// (CommandLine), the program on stdin, never on a command line.
//
// The program (buildScriptProgram) has the probe's shape: one `& { ... }`
// statement of pure ASCII followed by an empty line, the script inside as base64
// of its UTF-8 text. On the machine the script runs as a nested pipeline of the
// session ([PowerShell]::Create('CurrentRunspace')), in its own scope, with
// $ErrorActionPreference = 'Stop' (a cmdlet error ends the script, as in the
// probe); its output objects go through Out-String to stdout, its error and
// warning records to stderr. Its exit code is what `exit N` or the last native
// command left in $LASTEXITCODE, or 1 when it threw; the program then prints an
// end line carrying that code and a random nonce (ExitMarker), and ends
// powershell.exe with it. A run whose end line is missing and whose process
// exited 0 (PowerShell skipped the program) is an error.
//
// The error is non-nil only when the script could not run or its end is
// unknown: no credentials, unreachable machine, TLS, authentication (ErrAuth),
// ctx's deadline (the command is then terminated and its shell deleted); it is
// ErrNotStarted (errors.Is) when the script surely did not run. A
// script that ran and failed is a ScriptResult with a non-zero ExitCode and a
// nil error. When ctx has no deadline, DefaultTimeout (or p.DefaultTimeout)
// bounds the run.
func (p *WinRM) RunScript(ctx context.Context, t probe.Target, script string) (ScriptResult, error) {
	sess, host, creds, err := p.open(t)
	if err != nil {
		return ScriptResult{}, fmt.Errorf("winrm %s: %w", host, &notStartedError{err})
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, orDefault(p.DefaultTimeout, DefaultTimeout))
		defer cancel()
	}
	nonce := newNonce()
	stdout, stderr, exit, err := exec(ctx, sess, buildScriptProgram(nonce, script), p.opTimeout())
	mask := masker(t.Masker, creds.Password)
	res := ScriptResult{Stderr: mask(strings.TrimSpace(DecodeCLIXML(string(stderr))))}
	if err != nil {
		if ctx.Err() != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
			err = fmt.Errorf("%w (%w)", err, ctx.Err())
		}
		res.Stdout = mask(string(stdout))
		return res, fmt.Errorf("winrm %s: %w", host, err)
	}
	out, code, found := cutExitMarker(stdout, nonce)
	res.Stdout = mask(strings.TrimRight(string(out), "\r\n"))
	switch {
	case found:
		res.ExitCode = code
	case exit != 0:
		// The script ended powershell.exe itself ([Environment]::Exit) or
		// PowerShell failed before the end line: the process's code stands.
		res.ExitCode = exit
	default:
		detail := fmt.Sprintf("%s exited with code 0 without the program's end line: PowerShell did not run it to its end", CommandLine)
		if res.Stderr != "" {
			detail += "; stderr: " + truncate(res.Stderr, 2000)
		}
		return res, fmt.Errorf("winrm %s: %s", host, detail)
	}
	return res, nil
}

// ExitMarker is the start of the line a script program prints last:
// "<<<TAILAB-<nonce>-EXIT <code>>>>".
func ExitMarker(nonce string) string { return MarkerPrefix + nonce + "-EXIT " }

// cutExitMarker finds the program's end line in stdout and returns what came
// before it and the code it carries.
func cutExitMarker(stdout []byte, nonce string) (out []byte, code int, found bool) {
	m := []byte(ExitMarker(nonce))
	i := bytes.LastIndex(stdout, m)
	if i < 0 {
		return stdout, 0, false
	}
	rest := stdout[i+len(m):]
	j := bytes.Index(rest, []byte(">>>"))
	if j < 0 {
		return stdout, 0, false
	}
	code, err := strconv.Atoi(string(rest[:j]))
	if err != nil {
		return stdout, 0, false
	}
	return stdout[:i], code, true
}

// buildScriptProgram returns the program RunScript sends on stdin to
// `powershell.exe -Command -`: one `& { ... }` statement with no empty line
// inside, CR LF line ends, pure ASCII, then an empty line (see the package
// documentation for why).
func buildScriptProgram(nonce, script string) string {
	var b strings.Builder
	line := func(s string) {
		b.WriteString(s)
		b.WriteString("\r\n")
	}
	line("& {")
	line("$ProgressPreference = 'SilentlyContinue'")
	line("$__utf8 = New-Object System.Text.UTF8Encoding $false")
	line("try { [Console]::OutputEncoding = $__utf8 } catch { }")
	line("$__src = $__utf8.GetString([Convert]::FromBase64String('" + base64.StdEncoding.EncodeToString([]byte(script)) + "'))")
	line("$__out = New-Object System.Text.StringBuilder")
	line("$__err = New-Object System.Text.StringBuilder")
	line("$__code = 0")
	line("$global:LASTEXITCODE = 0")
	line("try {")
	line("  $ErrorActionPreference = 'Stop'")
	line("  $__ps = [PowerShell]::Create([System.Management.Automation.RunspaceMode]::CurrentRunspace)")
	line("  [void]$__ps.AddScript($__src, $true)")
	line("  try {")
	line("    $__res = $__ps.Invoke()")
	line("    if ($null -ne $__res -and $__res.Count -gt 0) { [void]$__out.Append(($__res | Out-String -Width 4096)) }")
	line("  } finally {")
	line("    foreach ($__w in $__ps.Streams.Warning) { [void]$__err.AppendLine('WARNING: ' + [string]$__w.Message) }")
	line("    foreach ($__e in $__ps.Streams.Error) { [void]$__err.AppendLine([string]$__e) }")
	line("    $__ps.Dispose()")
	line("  }")
	line("} catch {")
	line("  $__x = $_.Exception")
	line("  while ($null -ne $__x.InnerException -and $__x -is [System.Management.Automation.MethodInvocationException]) { $__x = $__x.InnerException }")
	line("  $__m = $__x.Message")
	line("  if ($null -ne $__x.ErrorRecord -and $null -ne $__x.ErrorRecord.Exception) { $__m = $__x.ErrorRecord.Exception.Message }")
	line("  [void]$__err.AppendLine([string]$__m)")
	line("  $__code = 1")
	line("}")
	line("$__last = $global:LASTEXITCODE")
	line("if ($__last -is [int] -and $__last -ne 0) { $__code = $__last }")
	line("$__so = [Console]::OpenStandardOutput()")
	line("$__bytes = $__utf8.GetBytes($__out.ToString() + \"`r`n" + ExitMarker(nonce) + "\" + $__code + \">>>`r`n\")")
	line("$__so.Write($__bytes, 0, $__bytes.Length)")
	line("$__so.Flush()")
	line("$__se = [Console]::OpenStandardError()")
	line("$__bytes = $__utf8.GetBytes($__err.ToString())")
	line("$__se.Write($__bytes, 0, $__bytes.Length)")
	line("$__se.Flush()")
	line("[Environment]::Exit($__code)")
	line("}")
	b.WriteString("\r\n") // the empty line that makes `-Command -` run the statement
	return b.String()
}
