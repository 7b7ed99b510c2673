package winrm

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf8"
)

// CommandLine is what the probe runs in the WinRM shell; the program comes on
// stdin.
const CommandLine = "powershell.exe -NoProfile -NonInteractive -Command -"

// Command and Arguments are CommandLine as sent in rsp:Command and rsp:Arguments.
var (
	Command   = "powershell.exe"
	Arguments = []string{"-NoProfile", "-NonInteractive", "-Command", "-"}
)

// MarkerPrefix starts the lines that frame the result document on stdout:
// "<<<TAILAB-<nonce>-BEGIN>>>" and "<<<TAILAB-<nonce>-END>>>".
const MarkerPrefix = "<<<TAILAB-"

// job is one check as the program runs it.
type job struct {
	id      string
	script  string
	timeout int // milliseconds
	depth   int
}

// newNonce returns the random part of this run's markers.
func newNonce() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Markers returns the begin and end lines for a nonce.
func Markers(nonce string) (begin, end string) {
	return MarkerPrefix + nonce + "-BEGIN>>>", MarkerPrefix + nonce + "-END>>>"
}

// buildProgram returns the PowerShell program sent on stdin to
// `powershell.exe -Command -`. See the package documentation for why it has
// this shape: one `& { ... }` statement with no blank line inside, ended by an
// empty line; pure ASCII (check scripts travel as base64 of their UTF-8 text,
// ids as ASCII-escaped JSON strings); each check in its own pipeline, in a
// runspace with ErrorActionPreference Stop, waited for up to its timeout; the
// result written as raw UTF-8 bytes between two marker lines.
func buildProgram(nonce string, jobs []job) string {
	begin, end := Markers(nonce)
	var b strings.Builder
	line := func(format string, args ...any) {
		fmt.Fprintf(&b, format, args...)
		b.WriteString("\r\n")
	}
	line("& {")
	line("$ProgressPreference = 'SilentlyContinue'")
	line("$__utf8 = New-Object System.Text.UTF8Encoding $false")
	line("try { [Console]::OutputEncoding = $__utf8 } catch { }")
	line("$__checks = @(")
	// One hashtable per line and no commas: each line is a statement of the
	// array subexpression, whose outputs make the array.
	for _, j := range jobs {
		line("@{ k = '%s'; t = %d; d = %d; s = '%s' }", psQuote(jsonASCII(j.id)), j.timeout, j.depth,
			base64.StdEncoding.EncodeToString([]byte(j.script)))
	}
	line(")")
	line("$__parts = New-Object System.Collections.Generic.List[string]")
	line("$__rs = $null")
	line("foreach ($__c in $__checks) {")
	line("  try {")
	line("    if ($null -eq $__rs) {")
	line("      $__rs = [runspacefactory]::CreateRunspace()")
	line("      $__rs.Open()")
	line("      $__rs.SessionStateProxy.SetVariable('ErrorActionPreference', 'Stop')")
	line("      $__rs.SessionStateProxy.SetVariable('ProgressPreference', 'SilentlyContinue')")
	line("    }")
	line("    $__ps = [PowerShell]::Create()")
	line("    $__ps.Runspace = $__rs")
	line("    [void]$__ps.AddScript($__utf8.GetString([Convert]::FromBase64String($__c.s)))")
	line("    $__h = $__ps.BeginInvoke()")
	line("    if (-not $__h.AsyncWaitHandle.WaitOne([int]$__c.t)) {")
	line("      [void]$__ps.BeginStop($null, $null)")
	line("      $__rs = $null")
	line(`      $__entry = '{"ok":false,"timeout":true,"error":' + (ConvertTo-Json -InputObject ('timed out after ' + $__c.t + ' ms') -Compress) + '}'`)
	line("    } else {")
	line("      try {")
	line("        $__out = $__ps.EndInvoke($__h)")
	line("        $__vals = @(foreach ($__o in $__out) { if ($null -ne $__o) { $__b = $__o.psobject.BaseObject; if ($__b -is [string] -or $__b -is [ValueType]) { $__b } else { $__o } } })")
	line("        if ($__vals.Count -eq 0) { $__v = $null } elseif ($__vals.Count -eq 1) { $__v = $__vals[0] } else { $__v = $__vals }")
	line("        $__json = ConvertTo-Json -InputObject $__v -Depth ([int]$__c.d) -Compress")
	line("        if ([string]::IsNullOrEmpty($__json)) { $__json = 'null' }")
	line(`        $__entry = '{"ok":true,"value":' + $__json + '}'`)
	line("      } catch {")
	line("        $__e = $_.Exception")
	line("        while ($null -ne $__e.InnerException -and $__e -is [System.Management.Automation.MethodInvocationException]) { $__e = $__e.InnerException }")
	line("        $__m = $__e.Message")
	line("        if ($null -ne $__e.ErrorRecord -and $null -ne $__e.ErrorRecord.Exception) { $__m = $__e.ErrorRecord.Exception.Message }")
	line(`        $__entry = '{"ok":false,"error":' + (ConvertTo-Json -InputObject ([string]$__m) -Compress) + ',"error_type":' + (ConvertTo-Json -InputObject ([string]$__e.GetType().FullName) -Compress) + '}'`)
	line("      } finally { $__ps.Dispose() }")
	line("    }")
	line("  } catch {")
	line(`    $__entry = '{"ok":false,"internal":true,"error":' + (ConvertTo-Json -InputObject ('tailab: ' + [string]$_.Exception.Message) -Compress) + '}'`)
	line("  }")
	line("  $__parts.Add($__c.k + ':' + $__entry)")
	line("}")
	line("$__doc = '{' + ($__parts -join ',') + '}'")
	line("$__bytes = $__utf8.GetBytes(\"`r`n%s`r`n\" + $__doc + \"`r`n%s`r`n\")", begin, end)
	line("$__stdout = [Console]::OpenStandardOutput()")
	line("$__stdout.Write($__bytes, 0, $__bytes.Length)")
	line("$__stdout.Flush()")
	line("}")
	b.WriteString("\r\n") // the empty line that makes `-Command -` run the statement
	return b.String()
}

// psQuote escapes text for a single-quoted PowerShell string.
func psQuote(s string) string { return strings.ReplaceAll(s, "'", "''") }

// jsonASCII renders s as a JSON string literal in pure ASCII (\uXXXX escapes).
func jsonASCII(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r >= 0x7f:
			if r > 0xffff {
				r1, r2 := utf16Surrogates(r)
				fmt.Fprintf(&b, `\u%04x\u%04x`, r1, r2)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func utf16Surrogates(r rune) (rune, rune) {
	r -= 0x10000
	return 0xd800 + (r>>10)&0x3ff, 0xdc00 + r&0x3ff
}

// isASCII reports whether s has only 7-bit characters.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
