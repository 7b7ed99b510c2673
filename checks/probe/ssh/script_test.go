package ssh

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

// gnuDetect is the script's GNU timeout detection line; runLocalWatchdog removes
// it to run the busybox path (the watchdog shell) on a host that has GNU timeout.
const gnuDetect = "G=; timeout --version 2>/dev/null | grep -q GNU && G=1\n"

// runLocal runs the generated script with the local /bin/sh, as the remote does.
func runLocal(t *testing.T, jobs []job) ([]result, error) { return runShellScript(t, jobs, false) }

func runShellScript(t *testing.T, jobs []job, watchdog bool) ([]result, error) {
	t.Helper()
	mark := newMarker()
	cmd := exec.Command("sh", "-s")
	script := buildScript(mark, jobs)
	if !strings.Contains(script, gnuDetect) {
		t.Fatal("the script's GNU timeout detection changed: update gnuDetect")
	}
	if watchdog {
		script = strings.Replace(script, gnuDetect, "G=\n", 1)
	}
	cmd.Stdin = strings.NewReader(script)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	res := make([]result, len(jobs))
	perr := parseOutput(out, mark, res, time.Now)
	_ = cmd.Wait()
	return res, perr
}

func str(s string) *string { return &s }

func TestScriptLocal(t *testing.T) {
	tricky := "it's \"quoted\" $HOME `x` \\ \n@@tailab-fake 0 end 0 0\nno newline"
	tests := []struct {
		name     string
		job      job
		stdout   string
		stderr   string
		exitCode int
		timedOut bool
	}{
		{"echo", job{command: "echo hello"}, "hello\n", "", 0, false},
		{"exit code", job{command: "echo oops >&2; exit 3"}, "", "oops\n", 3, false},
		{"stdin", job{command: "cat", stdin: str(tricky)}, tricky, "", 0, false},
		{"no stdin reads nothing", job{command: "cat; echo end"}, "end\n", "", 0, false},
		{"binary", job{command: "printf 'a\\000b'"}, "a\x00b", "", 0, false},
		{"quotes in command", job{command: `printf '%s\n' "it's"`}, "it's\n", "", 0, false},
		{"timeout", job{command: "echo before; sleep 30; echo after", timeout: time.Second}, "before\n", "", 143, true},
		{"own exit 124 is not a timeout", job{command: "echo x >&2; exit 124"}, "", "x\n", 124, false},
		{"inner timeout is not ours", job{command: "timeout 1 sleep 5 || exit $?"}, "", "", 124, false},
	}
	jobs := make([]job, len(tests))
	for i, tc := range tests {
		jobs[i] = tc.job
		if jobs[i].timeout == 0 {
			jobs[i].timeout = 10 * time.Second
		}
	}
	for _, watchdog := range []bool{false, true} {
		start := time.Now()
		res, err := runShellScript(t, jobs, watchdog)
		if err != nil {
			t.Fatalf("parse: %v", err)
		}
		if d := time.Since(start); d > 8*time.Second {
			t.Errorf("batch took %s: the timed-out command was not stopped promptly", d)
		}
		checkResults(t, watchdog, res, tests)
	}
}

func checkResults(t *testing.T, watchdog bool, res []result, tests []struct {
	name     string
	job      job
	stdout   string
	stderr   string
	exitCode int
	timedOut bool
}) {
	for i, tc := range tests {
		name := tc.name
		if watchdog {
			name += "/watchdog"
		}
		t.Run(name, func(t *testing.T) {
			r := res[i]
			if !r.done {
				t.Fatal("not done")
			}
			if r.stdout != tc.stdout || r.stderr != tc.stderr || r.exitCode != tc.exitCode || r.timedOut != tc.timedOut {
				t.Errorf("got stdout %q stderr %q exit %d timedOut %v; want %q %q %d %v",
					r.stdout, r.stderr, r.exitCode, r.timedOut, tc.stdout, tc.stderr, tc.exitCode, tc.timedOut)
			}
		})
	}
}

func TestScriptTruncatesHugeOutput(t *testing.T) {
	res, err := runLocal(t, []job{{command: "head -c 1100000 /dev/zero", timeout: 10 * time.Second}, {command: "echo next", timeout: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res[0].stdout) != maxOutput || !res[0].outTrunc {
		t.Errorf("stdout %d bytes truncated=%v, want %d and true", len(res[0].stdout), res[0].outTrunc, maxOutput)
	}
	if res[1].stdout != "next\n" {
		t.Errorf("next check: %q", res[1].stdout)
	}
}

func TestParseOutputRejectsCutStream(t *testing.T) {
	mark := "@@tailab-x"
	res := make([]result, 2)
	in := mark + " 0 begin\n" + mark + " 0 out 2 0\nhi" + mark + " 0 err 0 0\n" + mark + " 0 end 0 0\n" + mark + " 1 begin\n"
	err := parseOutput(strings.NewReader(in), mark, res, time.Now)
	if err == nil {
		t.Fatal("want an error for a cut stream")
	}
	if !res[0].done || res[0].stdout != "hi" || res[1].done {
		t.Errorf("results %+v", res)
	}
}
