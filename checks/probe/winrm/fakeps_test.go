package winrm

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tailab/tailab/internal/testenv/wsman"
)

// fakePS plays `powershell.exe -NoProfile -NonInteractive -Command -` behind the
// wsman test server: it checks that the program it gets on stdin has the shape
// PowerShell's stdin REPL needs, takes the checks out of it (id, timeout, depth,
// script decoded from base64) and answers each from recorded PowerShell output,
// printing the document exactly as the program's last lines would.
type fakePS struct {
	t      *testing.T
	answer func(c fakeCheck) string // the check's entry: {"ok":true,"value":...} etc.
	stderr []byte                   // written to stderr (e.g. CLIXML)
	noDoc  bool                     // print no document (PowerShell failed)
	delay  time.Duration            // time the "program" takes

	mu       sync.Mutex
	programs []string
	checks   []fakeCheck
}

type fakeCheck struct {
	ID      string
	Script  string
	Timeout time.Duration
	Depth   int
}

var (
	checkLine = regexp.MustCompile(`(?m)^,?@\{ k = '((?:[^']|'')*)'; t = (\d+); d = (\d+); s = '([A-Za-z0-9+/=]*)' \}\r$`)
	beginLine = regexp.MustCompile(`<<<TAILAB-([0-9a-f]{16})-BEGIN>>>`)
)

func (f *fakePS) handle(ctx context.Context, c wsman.Command) wsman.Result {
	t := f.t
	prog := string(c.Stdin)
	if got := c.CommandLine(); got != CommandLine {
		t.Errorf("command line %q, want %q", got, CommandLine)
	}
	if c.Codepage != "65001" {
		t.Errorf("shell code page %q, want 65001 (UTF-8)", c.Codepage)
	}
	if !isASCII(prog) {
		t.Errorf("the program is not pure ASCII")
	}
	// -Command - runs a multi-line statement only once an empty line follows,
	// and would run it early at an empty line inside.
	if !strings.HasPrefix(prog, "& {\r\n") || !strings.HasSuffix(prog, "\r\n}\r\n\r\n") {
		t.Errorf("the program is not one `& { ... }` statement followed by an empty line")
	}
	if strings.Contains(strings.TrimSuffix(prog, "\r\n\r\n"), "\r\n\r\n") || strings.Contains(prog, "\n\n") {
		t.Errorf("the program has an empty line inside its statement")
	}
	m := beginLine.FindStringSubmatch(prog)
	if m == nil {
		t.Errorf("no begin marker in the program")
		return wsman.Result{ExitCode: 1}
	}
	begin, end := Markers(m[1])
	var checks []fakeCheck
	var parts []string
	for _, cm := range checkLine.FindAllStringSubmatch(prog, -1) {
		key := strings.ReplaceAll(cm[1], "''", "'")
		var id string
		if err := json.Unmarshal([]byte(key), &id); err != nil {
			t.Errorf("check key %s: %v", key, err)
		}
		src, err := base64.StdEncoding.DecodeString(cm[4])
		if err != nil {
			t.Errorf("check %s: script is not base64: %v", id, err)
		}
		ms, _ := time.ParseDuration(cm[2] + "ms")
		var depth int
		_ = json.Unmarshal([]byte(cm[3]), &depth)
		fc := fakeCheck{ID: id, Script: string(src), Timeout: ms, Depth: depth}
		checks = append(checks, fc)
		parts = append(parts, key+":"+f.answer(fc))
	}
	f.mu.Lock()
	f.programs = append(f.programs, prog)
	f.checks = append(f.checks, checks...)
	f.mu.Unlock()
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-ctx.Done():
			return wsman.Result{ExitCode: 1}
		}
	}
	if f.noDoc {
		return wsman.Result{Stderr: f.stderr, ExitCode: 1}
	}
	doc := "{" + strings.Join(parts, ",") + "}"
	return wsman.Result{Stdout: []byte("\r\n" + begin + "\r\n" + doc + "\r\n" + end + "\r\n"), Stderr: f.stderr}
}

// Recorded Windows PowerShell 5.1 output (ConvertTo-Json -Compress) of real
// machines, keyed by a word of the check's script.
var recorded = map[string]string{
	// Get-CimInstance Win32_OperatingSystem | Select-Object Caption,Version,BuildNumber,OSLanguage,InstallDate,CSName,OSArchitecture,LastBootUpTime
	"Win32_OperatingSystem": `{"Caption":"Microsoft Windows 11 Professionnel","Version":"10.0.22631","BuildNumber":"22631","OSLanguage":1036,"InstallDate":"\/Date(1714638600000)\/","CSName":"PC-CANDIDAT01","OSArchitecture":"64 bits","LastBootUpTime":"\/Date(1716800400000)\/"}`,
	// Get-LocalGroupMember -SID S-1-5-32-544 | Select-Object Name,SID,PrincipalSource,ObjectClass
	"S-1-5-32-544": `[{"Name":"PC-CANDIDAT01\\Administrateur","SID":{"BinaryLength":28,"AccountDomainSid":{"BinaryLength":24,"AccountDomainSid":"S-1-5-21-1004336348-1177238915-682003330","Value":"S-1-5-21-1004336348-1177238915-682003330"},"Value":"S-1-5-21-1004336348-1177238915-682003330-500"},"PrincipalSource":1,"ObjectClass":"Utilisateur"},{"Name":"TAILAB\\Admins du domaine","SID":{"BinaryLength":28,"AccountDomainSid":{"BinaryLength":24,"AccountDomainSid":"S-1-5-21-3623811015-3361044348-30300820","Value":"S-1-5-21-3623811015-3361044348-30300820"},"Value":"S-1-5-21-3623811015-3361044348-30300820-512"},"PrincipalSource":2,"ObjectClass":"Groupe"}]`,
	// (Get-MpComputerStatus).RealTimeProtectionEnabled
	"RealTimeProtectionEnabled": `true`,
	// Get-NetFirewallProfile | Select-Object Name,Enabled
	"Get-NetFirewallProfile": `[{"Name":"Domain","Enabled":1},{"Name":"Private","Enabled":1},{"Name":"Public","Enabled":0}]`,
	// Get-Item of a missing path, thrown under ErrorActionPreference Stop
	"C:\\Partages\\Compta": `!Impossible de trouver le chemin d'accès « C:\Partages\Compta », car il n'existe pas.|System.Management.Automation.ItemNotFoundException`,
	// throw in the check's own script
	"throw": `!Unité d'organisation introuvable : OU=Élèves,DC=tailab,DC=lan|System.Management.Automation.RuntimeException`,
	// a script that outlives its timeout
	"Start-Sleep": `timeout`,
	// no output at all
	"Out-Null": `null`,
}

// recordedAnswer answers a check from the recordings, or echoes what the
// script returns for `'literal'` scripts.
func recordedAnswer(c fakeCheck) string {
	for word, out := range recorded {
		if !strings.Contains(c.Script, word) {
			continue
		}
		switch {
		case out == "timeout":
			return `{"ok":false,"timeout":true,"error":"timed out after ` + itoa(int(c.Timeout.Milliseconds())) + ` ms"}`
		case strings.HasPrefix(out, "!"):
			msg, typ, _ := strings.Cut(out[1:], "|")
			m, _ := json.Marshal(msg)
			return `{"ok":false,"error":` + string(m) + `,"error_type":"` + typ + `"}`
		}
		return `{"ok":true,"value":` + out + `}`
	}
	// A script that is a single-quoted string literal returns that string.
	if s := strings.TrimSpace(c.Script); strings.HasPrefix(s, "'") && strings.HasSuffix(s, "'") {
		v, _ := json.Marshal(strings.ReplaceAll(s[1:len(s)-1], "''", "'"))
		return `{"ok":true,"value":` + string(v) + `}`
	}
	return `{"ok":true,"value":` + itoa(len(c.Script)) + `}`
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }
