package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuSnapshot is the CPU time (user + system) used so far by this process and
// by each service it started, for telling where a grading's wall time goes on
// a machine where the grader and every lab service share the same cores.
type cpuSnapshot map[string]time.Duration

// clockTick is USER_HZ, the unit of /proc/<pid>/stat times (100 on Linux).
const clockTick = 10 * time.Millisecond

// takeCPU reads this process's own CPU time ("tailab": the grader, plus the
// WinRM test server, which runs in this process) and, for each process this
// one started (sshd, samba, dnsmasq), the CPU of its whole tree: its live
// descendants' times plus what the children they reaped used (so an sshd
// listener counts every connection's sshd and the shells it ran).
func takeCPU() cpuSnapshot {
	snap := cpuSnapshot{}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		snap["tailab"] = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	type proc struct {
		ppid int
		comm string
		cpu  time.Duration
	}
	procs := map[int]proc{}
	children := map[int][]int{}
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, path := range dirs {
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		s := string(data)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open {
			continue
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(s[:open]))
		f := strings.Fields(s[end+1:])
		if len(f) < 15 {
			continue
		}
		// After the command: state ppid ... utime(12) stime(13) cutime(14) cstime(15),
		// counted from state = index 0.
		ppid, _ := strconv.Atoi(f[1])
		var ticks int64
		for _, k := range []int{11, 12, 13, 14} {
			n, _ := strconv.ParseInt(f[k], 10, 64)
			ticks += n
		}
		procs[pid] = proc{ppid: ppid, comm: s[open+1 : end], cpu: time.Duration(ticks) * clockTick}
		children[ppid] = append(children[ppid], pid)
	}
	var tree func(pid int) time.Duration
	tree = func(pid int) time.Duration {
		t := procs[pid].cpu
		for _, c := range children[pid] {
			t += tree(c)
		}
		return t
	}
	for _, c := range children[os.Getpid()] {
		snap[procs[c].comm] += tree(c)
	}
	return snap
}

// since is the CPU each component used between before and s.
func (s cpuSnapshot) since(before cpuSnapshot) cpuSnapshot {
	d := cpuSnapshot{}
	for k, v := range s {
		if v-before[k] > 0 {
			d[k] = v - before[k]
		}
	}
	return d
}

// total is the CPU of every component together.
func (s cpuSnapshot) total() time.Duration {
	var t time.Duration
	for _, v := range s {
		t += v
	}
	return t
}

// String lists the components, most CPU first: "sshd 1.23s, tailab 410ms".
func (s cpuSnapshot) String() string {
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if s[keys[i]] != s[keys[j]] {
			return s[keys[i]] > s[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %s", k, s[k].Round(10*time.Millisecond))
	}
	return strings.Join(parts, ", ")
}
