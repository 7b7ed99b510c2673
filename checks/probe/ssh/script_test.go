package ssh

import (
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"
)

// gnuDetect is the script's GNU timeout detection line; runShellScript removes
// it to run the busybox path (the watchdog shell) on a host that has GNU timeout.
const gnuDetect = "G=; timeout --version 2>/dev/null | grep -q GNU && G=1\n"

// fifoDetect is the script's FIFO set-up; runShellScript removes it to run the
// polling path (a system without mkfifo).
const fifoDetect = `F=; mkfifo "$T/f" 2>/dev/null && exec 3<>"$T/f" && F=1` + "\n"

// polling, set by a test, makes runShellScript run the polling path.
var polling bool

// runLocal runs the generated script with the local /bin/sh, as the remote does.
func runLocal(t *testing.T, jobs []job) ([]result, error) {
	return runShellScript(t, jobs, false, DefaultParallel)
}

func runShellScript(t *testing.T, jobs []job, watchdog bool, parallel int) ([]result, error) {
	t.Helper()
	mark := newMarker()
	cmd := exec.Command("sh", "-s")
	script := buildScript(mark, jobs, parallel)
	if !strings.Contains(script, gnuDetect) {
		t.Fatal("the script's GNU timeout detection changed: update gnuDetect")
	}
	if watchdog {
		script = strings.Replace(script, gnuDetect, "G=\n", 1)
	}
	if !strings.Contains(script, fifoDetect) {
		t.Fatal("the script's FIFO set-up changed: update fifoDetect")
	}
	if polling {
		script = strings.Replace(script, fifoDetect, "F=\n", 1)
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
		{"timeout", job{command: "echo before; sleep 300; echo after", timeout: time.Second}, "before\n", "", 143, true},
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
		for _, parallel := range []int{1, DefaultParallel} {
			start := time.Now()
			res, err := runShellScript(t, jobs, watchdog, parallel)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			// The timed-out command sleeps 300 s; the loose bound is no timing.
			if d := time.Since(start); d > 150*time.Second {
				t.Errorf("batch took %s: the timed-out command was not stopped promptly", d)
			}
			checkResults(t, fmt.Sprintf("watchdog=%v/parallel=%d", watchdog, parallel), res, tests)
		}
	}
}

func checkResults(t *testing.T, mode string, res []result, tests []struct {
	name     string
	job      job
	stdout   string
	stderr   string
	exitCode int
	timedOut bool
}) {
	for i, tc := range tests {
		t.Run(tc.name+"/"+mode, func(t *testing.T) {
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

// mixedJobs is a batch with every kind of outcome: output on both streams,
// exit codes, stdin, a timeout, output cut at maxOutput, an exclusive job.
func mixedJobs() []job {
	js := []job{
		{command: "echo out; echo err >&2; exit 2"},
		{command: "sleep 1; echo slow"},
		{command: "tr a-z A-Z", stdin: str("from stdin\nline 2")},
		{command: "echo before; sleep 30", timeout: time.Second},
		{command: "head -c 1100000 /dev/zero | tr '\\0' x"},
		{command: "echo alone", exclusive: true},
		{command: "printf 'no newline'; exit 1"},
		{command: "echo x >&2; exit 124"},
		{command: "kill -9 $$"},
		{command: "seq 1 1000"},
	}
	for i := range js {
		if js[i].timeout == 0 {
			js[i].timeout = 10 * time.Second
		}
	}
	return js
}

// TestConcurrentEqualsSequential: the same batch gives the same results (all
// but the time each took) one check after the other and 8 at once, with GNU
// timeout and with the watchdog shells, ended jobs told through the FIFO and
// found by polling.
func TestConcurrentEqualsSequential(t *testing.T) {
	t.Run("fifo", testConcurrentEqualsSequential)
	t.Run("polling", func(t *testing.T) {
		polling = true
		defer func() { polling = false }()
		testConcurrentEqualsSequential(t)
	})
}

func testConcurrentEqualsSequential(t *testing.T) {
	jobs := mixedJobs()
	for _, watchdog := range []bool{false, true} {
		seq, err := runShellScript(t, jobs, watchdog, 1)
		if err != nil {
			t.Fatalf("sequential: %v", err)
		}
		conc, err := runShellScript(t, jobs, watchdog, DefaultParallel)
		if err != nil {
			t.Fatalf("concurrent: %v", err)
		}
		for i := range jobs {
			a, b := seq[i], conc[i]
			a.elapsed, b.elapsed = 0, 0
			if !a.done || !reflect.DeepEqual(a, b) {
				t.Errorf("watchdog=%v job %d (%s): sequential %+v, concurrent %+v", watchdog, i, jobs[i].command, trimmed(a), trimmed(b))
			}
		}
	}
}

// trimmed shortens a result's output for a failure message.
func trimmed(r result) result {
	if len(r.stdout) > 40 {
		r.stdout = r.stdout[:40] + "..."
	}
	return r
}

// TestConcurrencyBoundedAndExclusive: 16 one-second jobs run 8 at a time (2 s,
// not 16), never more than 8 at once, and an exclusive job in the middle sees
// none of the others running.
func TestConcurrencyBoundedAndExclusive(t *testing.T) {
	dir := t.TempDir()
	var jobs []job
	for i := range 16 {
		cmd := fmt.Sprintf("touch %[1]s/run.%[2]d; ls %[1]s | grep -c '^run\\.'; sleep 1; rm %[1]s/run.%[2]d", dir, i)
		jobs = append(jobs, job{command: cmd, timeout: 10 * time.Second})
		if i == 7 {
			jobs = append(jobs, job{command: fmt.Sprintf("ls %s | grep -c '^run\\.'", dir), timeout: 10 * time.Second, exclusive: true})
		}
	}
	start := time.Now()
	res, err := runLocal(t, jobs)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	most := 0
	for i, r := range res {
		n := 0
		if _, err := fmt.Sscan(r.stdout, &n); err != nil || r.exitCode > 1 {
			t.Fatalf("job %d: %q exit %d", i, r.stdout, r.exitCode)
		}
		if jobs[i].exclusive {
			if n != 0 {
				t.Errorf("the exclusive job saw %d others running", n)
			}
			continue
		}
		most = max(most, n)
	}
	if most > DefaultParallel || most < 2 {
		t.Errorf("at most %d jobs ran at once, want 2..%d", most, DefaultParallel)
	}
	// Two waves of 8 around the exclusive job take at least 2 s (a shorter
	// run broke the bound); that the jobs overlapped is asserted by counting
	// them above, not by an upper bound on a loaded host's clock.
	if took < 2*time.Second {
		t.Errorf("16 one-second jobs, 8 at a time, took %s (want at least 2 s)", took)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
}
