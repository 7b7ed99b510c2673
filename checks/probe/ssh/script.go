package ssh

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// maxOutput caps what one check's stdout or stderr sends back (bytes).
const maxOutput = 1 << 20

// job is one check's command inside the batch script.
type job struct {
	command string
	stdin   *string
	timeout time.Duration
}

// result is what the batch script reported for one job.
type result struct {
	stdout, stderr string
	outTrunc       bool
	errTrunc       bool
	exitCode       int
	timedOut       bool
	done           bool
	elapsed        time.Duration
}

// newMarker returns the random prefix of the script's delimiter lines, so that no
// command output can forge one.
func newMarker() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "@@tailab-" + hex.EncodeToString(b)
}

// quote returns s as one single-quoted POSIX shell word.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// seconds rounds a timeout up to whole seconds (sleep(1) takes integers), at least 1.
func seconds(d time.Duration) int {
	s := int((d + time.Second - 1) / time.Second)
	return max(s, 1)
}

// buildScript generates the POSIX sh script that runs every job in order, each
// with its own watchdog, and prints for each one:
//
//	MARK <i> begin
//	MARK <i> out <n> <truncated 0|1>\n<n bytes of stdout>
//	MARK <i> err <n> <truncated 0|1>\n<n bytes of stderr>
//	MARK <i> end <exit code> <timed out 0|1>
//
// Where GNU timeout exists, each command runs under `timeout -v -k 2 N sh -c` (it
// signals the command's whole process group; on exit 124 or 137 its -v line on
// stderr tells a real timeout from a command that exits 124 itself, and is
// removed from the output).
// Elsewhere (busybox), commands run with `sh -c` in a session of their own
// (setsid, when present) next to a watchdog shell that stops the whole process
// group. stdin is the check's stdin or /dev/null, never the script itself.
func buildScript(mark string, jobs []job) string {
	var b strings.Builder
	fmt.Fprintf(&b, `M=%s
C=%d
T=$(mktemp -d 2>/dev/null) || { T=/tmp/tailab.$$; mkdir -m 700 "$T"; } || exit 97
trap 'rm -rf "$T"' EXIT
S=; command -v setsid >/dev/null 2>&1 && S=setsid
G=; timeout --version 2>/dev/null | grep -q GNU && G=1
emit() { # index kind file
	if [ ! -s "$3" ]; then printf '%%s %%s %%s 0 0\n' "$M" "$1" "$2"; return; fi
	n=$(wc -c <"$3"); n=$((n)); t=0
	if [ "$n" -gt "$C" ]; then n=$C; t=1; fi
	printf '%%s %%s %%s %%s %%s\n' "$M" "$1" "$2" "$n" "$t"
	if [ "$t" = 1 ]; then dd if="$3" bs="$C" count=1 2>/dev/null; else cat "$3"; fi
}
run() { # index seconds command stdin-file
	printf '%%s %%s begin\n' "$M" "$1"
	if [ -n "$G" ]; then # GNU timeout: one process instead of a watchdog shell
		timeout -v -k 2 "$2" sh -c "$3" <"$4" >"$T/o" 2>"$T/e"; rc=$?
		to=0
		case $rc in 124|137) # timeout's own code, or the command's? -v says which
			if grep -q '^timeout: sending signal' "$T/e"; then
				to=1; [ "$rc" = 124 ] && rc=143 # 143: TERM, as the watchdog reports it
				grep -v '^timeout: sending signal' "$T/e" >"$T/e2"; mv "$T/e2" "$T/e"
			fi;;
		esac
		emit "$1" out "$T/o"
		emit "$1" err "$T/e"
		printf '%%s %%s end %%s %%s\n' "$M" "$1" "$rc" "$to"
		return
	fi
	[ ! -e "$T/k" ] || rm -f "$T/k"
	$S sh -c "$3" <"$4" >"$T/o" 2>"$T/e" &
	p=$!
	$S sh -c 'sleep "$1"; : >"$2"; kill -TERM -"$3" 2>/dev/null || kill -TERM "$3"; sleep 2; kill -KILL -"$3" 2>/dev/null || kill -KILL "$3"' w "$2" "$T/k" "$p" </dev/null >/dev/null 2>&1 &
	w=$!
	wait "$p"; rc=$?
	kill -TERM -"$w" 2>/dev/null || kill -TERM "$w" 2>/dev/null
	to=0; [ -e "$T/k" ] && to=1
	emit "$1" out "$T/o"
	emit "$1" err "$T/e"
	printf '%%s %%s end %%s %%s\n' "$M" "$1" "$rc" "$to"
}
`, quote(mark), maxOutput)
	for i, j := range jobs {
		in := "/dev/null"
		if j.stdin != nil {
			fmt.Fprintf(&b, "printf '%%s' %s >\"$T/i\"\n", quote(*j.stdin))
			in = `"$T/i"`
		}
		fmt.Fprintf(&b, "run %d %d %s %s\n", i, seconds(j.timeout), quote(j.command), in)
	}
	b.WriteString("printf '%s done\\n' \"$M\"\n")
	return b.String()
}

// parseOutput reads the script's stdout as it streams and fills results (one per
// job). It returns when the script says done, or with the read error that cut it
// short (a closed connection, a deadline); jobs it has not seen end keep done=false.
// now is the clock used to time each job.
func parseOutput(r io.Reader, mark string, results []result, now func() time.Time) error {
	br := bufio.NewReaderSize(r, 64<<10)
	prefix := mark + " "
	begun := make([]time.Time, len(results))
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			if err == io.EOF {
				return fmt.Errorf("shell output ended before all checks ran")
			}
			return err
		}
		k := strings.Index(line, prefix)
		if k < 0 {
			continue // noise from login scripts
		}
		f := strings.Fields(line[k+len(prefix):])
		if len(f) == 1 && f[0] == "done" {
			return nil
		}
		if len(f) < 2 {
			return fmt.Errorf("malformed delimiter line %q", line)
		}
		i, err := strconv.Atoi(f[0])
		if err != nil || i < 0 || i >= len(results) {
			return fmt.Errorf("malformed delimiter line %q", line)
		}
		res := &results[i]
		switch {
		case f[1] == "begin":
			begun[i] = now()
		case (f[1] == "out" || f[1] == "err") && len(f) == 4:
			n, err := strconv.Atoi(f[2])
			if err != nil || n < 0 || n > maxOutput {
				return fmt.Errorf("malformed size in %q", line)
			}
			buf := make([]byte, n)
			if _, err := io.ReadFull(br, buf); err != nil {
				return fmt.Errorf("read output of check %d: %w", i, err)
			}
			if f[1] == "out" {
				res.stdout, res.outTrunc = string(buf), f[3] == "1"
			} else {
				res.stderr, res.errTrunc = string(buf), f[3] == "1"
			}
		case f[1] == "end" && len(f) == 4:
			rc, err := strconv.Atoi(f[2])
			if err != nil {
				return fmt.Errorf("malformed exit code in %q", line)
			}
			res.exitCode, res.timedOut, res.done = rc, f[3] == "1", true
			if !begun[i].IsZero() {
				res.elapsed = now().Sub(begun[i])
			}
		default:
			return fmt.Errorf("malformed delimiter line %q", line)
		}
	}
}
