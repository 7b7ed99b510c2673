package catalogtest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/tailab/tailab/checks/probe/winrm"
	"github.com/tailab/tailab/internal/testenv/wsman"
)

// fakeWindows is one Windows machine behind a wsman test server: it plays
// `powershell.exe -NoProfile -NonInteractive -Command -`, takes the checks out of
// the program the winrm probe sends on stdin (id and script, decoded from base64)
// and answers each with the entry recorded for the current state, printing the
// result document exactly as the program's last lines would (between the run's
// two marker lines, as raw UTF-8).
type fakeWindows struct {
	t       *testing.T
	machine string

	mu      sync.Mutex
	answers map[string]string // check id → entry JSON ({"ok":true,"value":...})
	scripts map[string]string // check id → the script the machine received last
}

var (
	checkLine = regexp.MustCompile(`(?m)^,?@\{ k = '((?:[^']|'')*)'; t = (\d+); d = (\d+); s = '([A-Za-z0-9+/=]*)' \}\r$`)
	beginLine = regexp.MustCompile(`<<<TAILAB-([0-9a-f]{16})-BEGIN>>>`)
)

// setAnswers replaces the entries the machine answers with.
func (f *fakeWindows) setAnswers(a map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers = a
	f.scripts = map[string]string{}
}

// script returns the script the machine last received for a check.
func (f *fakeWindows) script(id string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.scripts[id]
	return s, ok
}

func (f *fakeWindows) handle(_ context.Context, c wsman.Command) wsman.Result {
	t := f.t
	prog := string(c.Stdin)
	if got := c.CommandLine(); got != winrm.CommandLine {
		t.Errorf("%s: command line %q, want %q", f.machine, got, winrm.CommandLine)
	}
	if c.Codepage != "65001" {
		t.Errorf("%s: shell code page %q, want 65001 (UTF-8)", f.machine, c.Codepage)
	}
	m := beginLine.FindStringSubmatch(prog)
	if m == nil {
		t.Errorf("%s: no begin marker in the program", f.machine)
		return wsman.Result{ExitCode: 1}
	}
	begin, end := winrm.Markers(m[1])
	f.mu.Lock()
	defer f.mu.Unlock()
	var parts []string
	for _, cm := range checkLine.FindAllStringSubmatch(prog, -1) {
		key := strings.ReplaceAll(cm[1], "''", "'")
		var id string
		if err := json.Unmarshal([]byte(key), &id); err != nil {
			t.Errorf("%s: check key %s: %v", f.machine, key, err)
			continue
		}
		src, err := base64.StdEncoding.DecodeString(cm[4])
		if err != nil {
			t.Errorf("%s: check %s: script is not base64: %v", f.machine, id, err)
			continue
		}
		f.scripts[id] = string(src)
		entry, ok := f.answers[id]
		if !ok {
			entry = `{"ok":false,"internal":true,"error":"tailab test: no recorded answer for this check"}`
		}
		parts = append(parts, key+":"+entry)
	}
	doc := "{" + strings.Join(parts, ",") + "}"
	return wsman.Result{Stdout: []byte("\r\n" + begin + "\r\n" + doc + "\r\n" + end + "\r\n")}
}
