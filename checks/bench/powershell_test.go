package bench

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"

	"github.com/tailab/tailab/checks/probe/winrm"
	"github.com/tailab/tailab/internal/testenv/wsman"
)

// The winrm probe's program (checks/probe/winrm/script.go) lists one line per
// check: @{ k = '<JSON id>'; t = <ms>; d = <depth>; s = '<base64 script>' }.
var (
	checkLine = regexp.MustCompile(`(?m)^,?@\{ k = '((?:[^']|'')*)'; t = \d+; d = \d+; s = '[A-Za-z0-9+/=]*' \}\r$`)
	beginLine = regexp.MustCompile(`<<<TAILAB-([0-9a-f]{16})-BEGIN>>>`)
)

// fakePowerShell plays `powershell.exe -Command -` behind the wsman server: it
// takes the check ids out of the program on stdin and prints the JSON document
// the real program prints, each check answered with the recorded output for its
// id ({"ok":false,...} for an unknown id).
func fakePowerShell(answers map[string]string) wsman.Handler {
	return func(_ context.Context, c wsman.Command) wsman.Result {
		prog := string(c.Stdin)
		m := beginLine.FindStringSubmatch(prog)
		if m == nil || c.CommandLine() != winrm.CommandLine {
			return wsman.Result{Stderr: []byte("not the winrm probe's program"), ExitCode: 1}
		}
		begin, end := winrm.Markers(m[1])
		var parts []string
		for _, cm := range checkLine.FindAllStringSubmatch(prog, -1) {
			key := strings.ReplaceAll(cm[1], "''", "'")
			var id string
			_ = json.Unmarshal([]byte(key), &id)
			ans, ok := answers[id]
			if !ok {
				ans = `{"ok":false,"error":"no recording for this check","error_type":"System.Management.Automation.RuntimeException"}`
			}
			parts = append(parts, key+":"+ans)
		}
		doc := "{" + strings.Join(parts, ",") + "}"
		return wsman.Result{Stdout: []byte("\r\n" + begin + "\r\n" + doc + "\r\n" + end + "\r\n")}
	}
}
