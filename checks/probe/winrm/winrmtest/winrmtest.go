// Package winrmtest plays powershell.exe behind the WS-Management test server
// (internal/testenv/wsman) for tests of winrm.RunScript and of what runs
// scripts through it (fault and solution steps): it checks that the program it
// receives on stdin has the shape PowerShell's stdin REPL needs, takes the
// script out of it, and answers as the program would, with the output, the end
// line and the exit code the test's Run function decides.
package winrmtest

import (
	"context"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/tailab/tailab/checks/probe/winrm"
	"github.com/tailab/tailab/internal/testenv/wsman"
)

// Outcome is how a played script ends.
type Outcome struct {
	Stdout, Stderr string
	ExitCode       int
	// NoEndLine plays a program PowerShell did not run to its end (skipped, or
	// ended by the script with [Environment]::Exit): no end line, and ExitCode
	// is powershell.exe's own.
	NoEndLine bool
}

// Host answers the commands of a wsman.Server as powershell.exe running
// RunScript's programs would. Use Host.Handle as wsman.Config.Handler.
type Host struct {
	T testing.TB
	// Run plays the script; nil answers every script with exit code 0 and no output.
	Run func(script string) Outcome

	mu       sync.Mutex
	programs []string
	scripts  []string
}

var (
	scriptLine = regexp.MustCompile(`(?m)^\$__src = \$__utf8\.GetString\(\[Convert\]::FromBase64String\('([A-Za-z0-9+/=]*)'\)\)\r$`)
	endLine    = regexp.MustCompile(`<<<TAILAB-([0-9a-f]{16})-EXIT "`)
)

// Handle is the wsman.Handler.
func (h *Host) Handle(_ context.Context, c wsman.Command) wsman.Result {
	t := h.T
	prog := string(c.Stdin)
	if got := c.CommandLine(); got != winrm.CommandLine {
		t.Errorf("winrmtest: command line %q, want %q", got, winrm.CommandLine)
	}
	if c.Codepage != "65001" {
		t.Errorf("winrmtest: shell code page %q, want 65001 (UTF-8)", c.Codepage)
	}
	for i := 0; i < len(prog); i++ {
		if prog[i] >= utf8.RuneSelf {
			t.Errorf("winrmtest: the program is not pure ASCII")
			break
		}
	}
	if !strings.HasPrefix(prog, "& {\r\n") || !strings.HasSuffix(prog, "\r\n}\r\n\r\n") {
		t.Errorf("winrmtest: the program is not one `& { ... }` statement followed by an empty line")
	}
	if strings.Contains(strings.TrimSuffix(prog, "\r\n\r\n"), "\r\n\r\n") || strings.Contains(prog, "\n\n") {
		t.Errorf("winrmtest: the program has an empty line inside its statement")
	}
	sm := scriptLine.FindAllStringSubmatch(prog, -1)
	em := endLine.FindStringSubmatch(prog)
	if len(sm) != 1 || em == nil {
		t.Errorf("winrmtest: the program has %d script lines and end line %v, want one of each", len(sm), em != nil)
		return wsman.Result{ExitCode: 1}
	}
	src, err := base64.StdEncoding.DecodeString(sm[0][1])
	if err != nil || !utf8.Valid(src) {
		t.Errorf("winrmtest: the script is not base64 of UTF-8 text: %v", err)
	}
	script := string(src)
	h.mu.Lock()
	h.programs = append(h.programs, prog)
	h.scripts = append(h.scripts, script)
	h.mu.Unlock()

	var o Outcome
	if h.Run != nil {
		o = h.Run(script)
	}
	if o.NoEndLine {
		return wsman.Result{Stdout: []byte(o.Stdout), Stderr: []byte(o.Stderr), ExitCode: o.ExitCode}
	}
	out := o.Stdout + "\r\n" + winrm.ExitMarker(em[1]) + fmt.Sprint(o.ExitCode) + ">>>\r\n"
	return wsman.Result{Stdout: []byte(out), Stderr: []byte(o.Stderr), ExitCode: o.ExitCode}
}

// Scripts returns the scripts the host received, in order.
func (h *Host) Scripts() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.scripts...)
}

// Programs returns the programs (stdin) the host received, in order.
func (h *Host) Programs() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.programs...)
}
