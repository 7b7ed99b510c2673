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
	command   string
	stdin     *string
	timeout   time.Duration
	exclusive bool // runs alone: the jobs before it end first, the ones after start after it
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

// DefaultParallel is how many of a machine's checks its batch script runs at
// once: a machine then takes about as long as its slowest check, not the sum of
// its checks (an untouched lab's failing checks each wait out their timeout).
const DefaultParallel = 8

// buildScript generates the POSIX sh script that runs the jobs, up to parallel
// at a time (1: one after the other), each with its own watchdog; an exclusive
// job runs alone. For each job it prints, the job's records together once it has
// ended (in the order jobs end; the parser files them by index):
//
//	MARK <i> begin                                     (when the job starts)
//	MARK <i> out <n> <truncated 0|1>\n<n bytes of stdout>
//	MARK <i> err <n> <truncated 0|1>\n<n bytes of stderr>
//	MARK <i> end <exit code> <timed out 0|1>
//
// Only the script's own shell writes to its stdout: each job runs in a
// background subshell that writes its output to files and leaves "rc timedout"
// in a file when it ends, then writes its index into a FIFO the shell reads
// (no FIFO: the shell polls every 50 ms); the shell prints the ended job's
// records, so no two checks' output can interleave. The commands do not see
// the FIFO's descriptor.
//
// Where GNU timeout exists, each command runs under `timeout -v -k 2 N sh -c` (it
// signals the command's whole process group; on exit 124 or 137 its -v line on
// stderr tells a real timeout from a command that exits 124 itself, and is
// removed from the output).
// Elsewhere (busybox), commands run with `sh -c` in a session of their own
// (setsid, when present) next to a watchdog shell that stops the whole process
// group. stdin is the check's stdin or /dev/null, never the script itself.
func buildScript(mark string, jobs []job, parallel int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `M=%s
C=%d
P=%d
T=$(mktemp -d 2>/dev/null) || { T=/tmp/tailab.$$; mkdir -m 700 "$T"; } || exit 97
trap 'rm -rf "$T"' EXIT
S=; command -v setsid >/dev/null 2>&1 && S=setsid
G=; timeout --version 2>/dev/null | grep -q GNU && G=1
R=; N=0
F=; mkfifo "$T/f" 2>/dev/null && exec 3<>"$T/f" && F=1
emit() { # index kind file
	if [ ! -s "$3" ]; then printf '%%s %%s %%s 0 0\n' "$M" "$1" "$2"; return; fi
	n=$(wc -c <"$3"); n=$((n)); t=0
	if [ "$n" -gt "$C" ]; then n=$C; t=1; fi
	printf '%%s %%s %%s %%s %%s\n' "$M" "$1" "$2" "$n" "$t"
	if [ "$t" = 1 ]; then dd if="$3" bs="$C" count=1 2>/dev/null; else cat "$3"; fi
}
job() { # index seconds command stdin-file; runs in the background, leaves "rc timedout" in $T/r<index>
	d=$T/$1
	if [ -n "$G" ]; then # GNU timeout: one process instead of a watchdog shell
		timeout -v -k 2 "$2" sh -c "$3" <"$4" >"$d.o" 2>"$d.e" 3>&-; rc=$?
		to=0
		case $rc in 124|137) # timeout's own code, or the command's? -v says which
			if grep -q '^timeout: sending signal' "$d.e"; then
				to=1; [ "$rc" = 124 ] && rc=143 # 143: TERM, as the watchdog reports it
				grep -v '^timeout: sending signal' "$d.e" >"$d.e2"; mv "$d.e2" "$d.e"
			fi;;
		esac
	else
		$S sh -c "$3" <"$4" >"$d.o" 2>"$d.e" 3>&- &
		p=$!
		$S sh -c 'sleep "$1"; : >"$2"; kill -TERM -"$3" 2>/dev/null || kill -TERM "$3"; sleep 2; kill -KILL -"$3" 2>/dev/null || kill -KILL "$3"' w "$2" "$d.k" "$p" </dev/null >/dev/null 2>&1 3>&- &
		w=$!
		wait "$p"; rc=$?
		kill -TERM -"$w" 2>/dev/null || kill -TERM "$w" 2>/dev/null
		to=0; [ -e "$d.k" ] && to=1
	fi
	echo "$rc $to" >"$T/r$1" # one write: a poller sees it empty or whole
	[ -z "$F" ] || echo "$1" >&3
}
start() { # index seconds command stdin-file: waits for a free slot, starts the job
	while [ "$N" -ge "$P" ]; do reap; done
	printf '%%s %%s begin\n' "$M" "$1"
	job "$@" </dev/null >/dev/null 2>&1 &
	R="$R $1"; N=$((N + 1))
}
report() { # index: prints an ended job's records
	read rc to <"$T/r$1"
	emit "$1" out "$T/$1.o"
	emit "$1" err "$T/$1.e"
	printf '%%s %%s end %%s %%s\n' "$M" "$1" "$rc" "$to"
}
reap() { # waits for a job to end and prints its records
	if [ -n "$F" ]; then # ended jobs write their index into the FIFO
		read i <&3
		report "$i"
		r=; for j in $R; do [ "$j" = "$i" ] || r="$r $j"; done
		R=$r; N=$((N - 1))
		return
	fi
	r=; n=0; e=
	for i in $R; do
		if [ -s "$T/r$i" ]; then report "$i"; e=1; else r="$r $i"; n=$((n + 1)); fi
	done
	R=$r; N=$n
	[ -n "$e" ] || sleep 0.05 2>/dev/null || sleep 1
}
drain() { while [ "$N" -gt 0 ]; do reap; done; }
`, quote(mark), maxOutput, max(parallel, 1))
	for i, j := range jobs {
		in := "/dev/null"
		if j.stdin != nil {
			fmt.Fprintf(&b, "printf '%%s' %s >\"$T/i%d\"\n", quote(*j.stdin), i)
			in = fmt.Sprintf(`"$T/i%d"`, i)
		}
		if j.exclusive {
			b.WriteString("drain\n")
		}
		fmt.Fprintf(&b, "start %d %d %s %s\n", i, seconds(j.timeout), quote(j.command), in)
		if j.exclusive {
			b.WriteString("drain\n")
		}
	}
	b.WriteString("drain\nwait\nprintf '%s done\\n' \"$M\"\n")
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
